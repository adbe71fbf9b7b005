export { type App, createApp } from './app.ts';
export { API_KEY_CACHE_TTL_MS, ApiKeys, BoundedCache } from './lib/api-keys.ts';
export { parseTrustProxy, resolveClientAddress, resolveEndUser } from './lib/client-address.ts';
export {
  type Counter,
  MemoryWindows,
  RedisWindows,
  type WindowAnswer,
  type WindowStep,
} from './lib/fixed-window.ts';
export { ORGANIZATION_CACHE_MAX_AGE_MS } from './lib/org-cache.ts';
export {
  type AdmissionPlan,
  accountFailuresKey,
  type LimitKey,
  type LimitName,
  RateLimits,
  Refund,
  type RefundClaim,
} from './lib/rate-limits.ts';
export { closeServices, createServices, type Services } from './lib/services.ts';
export { CATALOGS, type Messages, pageLang } from './pages/messages.ts';
export { PROMPT_STORE_MAX_TTL_SECONDS, PromptStore } from './prompt/store.ts';
