export { type ClinicOptions, createClinicApp } from './app.ts';
export { registerClinic } from './register.ts';
export { Users } from './users.ts';
