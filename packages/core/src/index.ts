export * from './challenge.ts';
export * from './cidr.ts';
export * from './clock.ts';
export * from './constants.ts';
export * from './phone.ts';
export * from './policy.ts';
export * from './secrets.ts';
export * from './sms-text.ts';
