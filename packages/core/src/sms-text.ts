import { CODE_TTL_MS } from './constants.ts';

export function codeMessage(code: string): string {
  return `Your verification code is ${code}. It expires in ${CODE_TTL_MS / 60_000} minutes.`;
}
