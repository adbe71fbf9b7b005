export { type App, createApp } from './app.ts';
export { parseTrustProxy, resolveClientAddress } from './lib/client-address.ts';
export { closeServices, createServices, type Services } from './lib/services.ts';
