/**
 * `npm start`: the API and one worker as child processes, sharing this
 * terminal. SIGTERM/SIGINT are passed on so both drain before exiting.
 */
import { type ChildProcess, spawn } from 'node:child_process';

const children: ChildProcess[] = [];
let stopping = false;

function run(name: string, workspace: string): void {
  const child = spawn('npm', ['run', 'start', '-w', workspace], {
    stdio: 'inherit',
    env: process.env,
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the rest`);
      stop('SIGTERM', code ?? 1);
    }
  });
}

function stop(signal: NodeJS.Signals, exitCode = 0): void {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
  let pending = children.filter((c) => c.exitCode === null).length;
  if (pending === 0) process.exit(exitCode);
  for (const child of children) {
    child.once('exit', () => {
      pending -= 1;
      if (pending <= 0) process.exit(exitCode);
    });
  }
}

run('api', '@twofa/api');
run('worker', '@twofa/worker');
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
