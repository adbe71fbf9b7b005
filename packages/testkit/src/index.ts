/** Test and dev tooling: stand-ins for outside services, never imported by shipped code. */
export * from './fake-twilio.ts';
