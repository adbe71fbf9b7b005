/**
 * `npm start`: the API and one worker as child processes, sharing this
 * terminal. SIGTERM/SIGINT are passed on so both drain before exiting.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seedDemo } from './seed-demo.ts';

const children: ChildProcess[] = [];
/**
 * `npm start` is the README's local command: it runs in development (the fixed
 * development secrets allowed) unless NODE_ENV says otherwise. `start:api` and
 * `start:worker` set nothing, so they refuse to start without the secrets.
 */
const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: process.env.NODE_ENV || 'development' };
// In development the codes carry their WebOTP line (`@localhost #123456`) as they do in
// production, where PUBLIC_BASE_URL names the public address; set it to override.
if (env.NODE_ENV === 'development' && !env.PUBLIC_BASE_URL) {
  env.PUBLIC_BASE_URL = `http://localhost:${env.PORT || 3000}`;
}
let stopping = false;

/**
 * Node itself, not `npm run`: a signal sent to npm reaches its shell, not the
 * process behind it, and the service would never hear SIGTERM.
 */
function run(name: string, workspaceDir: string): void {
  const cwd = fileURLToPath(new URL(`../${workspaceDir}/`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd,
    stdio: 'inherit',
    env,
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

// With the same environment as the services, NODE_ENV default included.
await seedDemo(env);
run('api', 'apps/api');
run('worker', 'apps/worker');
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
