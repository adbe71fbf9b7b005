import twilio from 'twilio';

/** Checks a Twilio webhook's X-Twilio-Signature with the SDK's own validator. */
export function validateTwilioRequest(
  authToken: string,
  signature: string,
  url: string,
  params: Record<string, string>,
): boolean {
  return twilio.validateRequest(authToken, signature, url, params);
}
