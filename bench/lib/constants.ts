/** Values the bench shares between its processes. None is a real secret. */
export const FAKE_TWILIO_ACCOUNT_SID = `AC${'be7c'.repeat(8)}`;
export const FAKE_TWILIO_AUTH_TOKEN = 'bench-fake-twilio-auth-token';
export const TWILIO_FROM = '+15005550006';
export const ADMIN_API_KEY = 'bench-platform-key-0123456789';
export const APP_SECRET = 'bench-app-secret-0123456789abcdef';
/** Rate limits far above any load the bench can make, so they never answer 429. */
export const UNLIMITED = '1000000000';
/** The end-user address of the floor's own challenges (TEST-NET-2), which tells them apart. */
export const FLOOR_IP = '198.51.100.7';
