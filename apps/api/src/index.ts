export { type App, createApp } from './app.ts';
export { closeServices, createServices, type Services } from './lib/services.ts';
