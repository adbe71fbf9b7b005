import type { LedgerReason, Locale, Role } from '@twofa/core';
import { FACTOR_MESSAGES, type FactorMessages } from './factor-messages.ts';
import { GUIDANCE, type GuidanceMessages } from './messages-guidance.ts';

/**
 * Every text the pages show, in each of the contract's locales. `en`, `fi` and
 * `sv` are typed by `Messages`, so a key missing in one of them fails the
 * type-check; texts with values are functions of them.
 */
export interface Messages extends GuidanceMessages, FactorMessages {
  brand: string;
  titleSuffix: string;
  // layout
  mainNav: string;
  navAccount: string;
  navPasswordSettings: string;
  navUsers: string;
  navSubscription: string;
  navAudit: string;
  navApps: string;
  // generic pages
  forbiddenTitle: string;
  forbiddenCsrf: string;
  forbiddenSettings: string;
  // login form
  signInTitle: string;
  signInTo: (organization: string) => string;
  organizationId: string;
  email: string;
  password: string;
  signInButton: string;
  noSuchOrganization: string;
  enterEmailAndPassword: string;
  // the API's refusals, by code
  errInvalidCredentials: string;
  errRateLimited: (seconds: number | null) => string;
  errUserLocked: (until: string | null) => string;
  errChallengeExpired: string;
  errChallengeLocked: string;
  errChallengeNotPending: string;
  errResendTooSoon: (seconds: number) => string;
  errTooManySends: string;
  errSmsPaused: string;
  errInvalidPhone: string;
  errPhoneCountryNotAllowed: (countries: string) => string;
  errPhoneAlreadySet: string;
  errTwoFactorUnavailable: string;
  errInvalidCidr: string;
  errUnavailable: string;
  unavailableTitle: string;
  errGeneric: string;
  // closed challenge
  signInStopped: string;
  startAgain: string;
  // the hosted prompt
  cancel: string;
  promptCannotContinueTitle: string;
  promptCannotContinue: string;
  closedExpired: string;
  closedLocked: string;
  closedCanceled: string;
  closedApproved: string;
  closedBalance: string;
  closedRejected: string;
  closedPaused: string;
  closedSendFailed: string;
  closedOther: string;
  // code step
  codeTitle: string;
  codeSentTo: (maskedPhone: string) => string;
  codeSentToYourPhone: string;
  codeLabel: string;
  attemptsLeft: (n: number) => string;
  wrongCode: (attemptsLeft: number) => string;
  trustDevice: string;
  verify: string;
  noCode: string;
  sendsLeft: (n: number) => string;
  noMoreSends: string;
  resend: string;
  resent: string;
  // phone step
  phoneTitle: string;
  phoneIntro: string;
  phoneLabel: string;
  phoneHelp: string;
  sendCode: string;
  // account
  accountTitle: string;
  signedInHeading: string;
  signedInAs: string;
  atOrganization: (organization: string) => string;
  adminOf: string;
  adminOfLink: string;
  logOut: string;
  // password settings
  passwordSettingsTitle: string;
  settingsSaved: string;
  nothingSaved: string;
  twoFactorHeading: string;
  twoFactorCheckbox: string;
  twoFactorHelp: string;
  twoFactorUnavailable: (method: 'saml2' | 'ldap') => string;
  cidrsLabel: string;
  cidrsHelp: string;
  cidrLineError: (line: number) => string;
  notCidr: string;
  countriesLabel: string;
  countriesHelp: string;
  notCountry: string;
  saveSettings: string;
  // users
  usersTitle: string;
  searchByEmail: string;
  search: string;
  userCount: (n: number) => string;
  matching: (q: string) => string;
  colEmail: string;
  colPhone: string;
  colRole: string;
  colTwoFactor: string;
  colActions: string;
  roles: Record<Role, string>;
  twoFactorDisabledForUser: string;
  twoFactorRequired: string;
  lockedUntil: (until: string) => string;
  requireTwoFactor: string;
  disableTwoFactor: string;
  revokeDevices: string;
  unlock: string;
  pagerLabel: string;
  previous: string;
  next: string;
  pageOf: (page: number, pages: number) => string;
  noticeExempted: string;
  noticeUnexempted: string;
  noticeRevoked: string;
  noticeUnlocked: string;
  notFoundTitle: string;
  userNotFound: string;
  backToUsers: string;
  // apps (the hosted prompt's clients)
  appsTitle: string;
  appsIntro: string;
  registeredApps: string;
  registerAppHeading: string;
  appNameLabel: string;
  redirectUrisLabel: string;
  redirectUrisHelp: string;
  registerApp: string;
  colName: string;
  colClientId: string;
  colRedirectUris: string;
  colCreated: string;
  rotateSecret: string;
  deleteApp: string;
  noApps: string;
  appRegistered: (app: string) => string;
  secretRotated: (app: string) => string;
  secretOnce: string;
  clientIdLabel: string;
  clientSecretLabel: string;
  appDeleted: string;
  appNotFound: string;
  backToApps: string;
  notRedirectUri: string;
  appNameInvalid: string;
  redirectUrisCount: string;
  // subscription
  subscriptionTitle: string;
  smsBalance: string;
  credits: (n: number) => string;
  oneCodeOneCredit: string;
  lowBalance: (threshold: number) => string;
  recentActivity: string;
  colWhen: string;
  colWhat: string;
  colChange: string;
  colBalanceAfter: string;
  ledgerReasons: Record<LedgerReason, string>;
  nothingYet: string;
  // audit
  auditTitle: string;
  colEvent: string;
  colBy: string;
  colIp: string;
  colDetails: string;
  auditEvents: Record<string, string>;
  noEvents: string;
  newest: string;
  older: string;
  // webhooks
  navWebhooks: string;
  webhooksTitle: string;
  webhooksIntro: string;
  webhookAddHeading: string;
  webhookUrl: string;
  webhookUrlHelp: string;
  webhookEvents: string;
  webhookEventsHelp: string;
  webhookAddButton: string;
  webhookUrlProblems: Record<'malformed' | 'scheme' | 'address' | 'unresolvable', string>;
  webhookCreated: string;
  webhookSecret: string;
  webhookSecretOnce: string;
  webhookNone: string;
  webhookAllEvents: string;
  webhookActive: string;
  webhookDisabled: (at: string) => string;
  webhookDisabledReasons: Record<string, string>;
  webhookFailingSince: (since: string) => string;
  webhookSendTest: string;
  webhookDelete: string;
  webhookDeleted: string;
  webhookEnable: string;
  webhookDisable: string;
  webhookEnabledNotice: string;
  webhookDisabledNotice: string;
  webhookEnableRefused: string;
  webhookTestQueued: string;
  webhookNotFound: string;
  webhookDeliveries: string;
  webhookNoDeliveries: string;
  colStatus: string;
  colAttempts: string;
  colResponse: string;
  deliveryStatuses: Record<'pending' | 'delivered' | 'failed', string>;
  webhookEventNames: Record<string, string>;
}

/** `one` or `other` by the locale's plural rules (the CLDR categories these three languages use). */
function plural(locale: Locale, n: number, forms: { one: string; other: string }): string {
  return new Intl.PluralRules(locale).select(n) === 'one' ? forms.one : forms.other;
}

const en: Messages = {
  ...GUIDANCE.en,
  ...FACTOR_MESSAGES.en,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Main',
  navAccount: 'Account',
  navPasswordSettings: 'Two-factor authentication',
  navUsers: 'Users',
  navSubscription: 'Subscription',
  navAudit: 'Audit log',
  navApps: 'Apps',
  forbiddenTitle: 'Forbidden',
  forbiddenCsrf:
    "This form was not sent from this site's page, or the page is too old. Go back, reload it and try again.",
  forbiddenSettings: "Only the organization's administrators can open the settings.",
  signInTitle: 'Sign in',
  signInTo: (organization) => `Sign in to ${organization}`,
  organizationId: 'Organization',
  email: 'Email',
  password: 'Password',
  signInButton: 'Sign in',
  noSuchOrganization: 'No organization goes by that name. Check the sign-in link you were given.',
  enterEmailAndPassword: 'Enter your email and password.',
  errInvalidCredentials: 'The email or password is wrong.',
  errRateLimited: (s) =>
    s === null
      ? 'Too many attempts. Try again in a moment.'
      : `Too many attempts. Try again in ${s} ${plural('en', s, { one: 'second', other: 'seconds' })}.`,
  errUserLocked: (until) =>
    until === null
      ? 'Too many wrong codes in a row: your account is locked. Contact your administrator.'
      : `Too many wrong codes in a row: your account is locked until ${until}. Your administrator can unlock it sooner.`,
  errChallengeExpired: 'The code has expired. Sign in again to get a new one.',
  errChallengeLocked:
    'Too many wrong codes: this sign-in is locked. Sign in again to get a new code.',
  errChallengeNotPending: 'This sign-in cannot continue. Sign in again.',
  errResendTooSoon: (s) =>
    `Please wait ${s} ${plural('en', s, { one: 'second', other: 'seconds' })} before asking for another code.`,
  errTooManySends: 'No more codes can be sent for this sign-in. Sign in again later.',
  errSmsPaused: 'We cannot send codes to this number right now. Try again later.',
  errInvalidPhone:
    'That does not look like a mobile number. Check it and include the country code.',
  errPhoneCountryNotAllowed: (countries) =>
    `Codes can only be sent to numbers in these countries: ${countries}.`,
  errPhoneAlreadySet: 'Your account already has a phone number. Sign in again.',
  errTwoFactorUnavailable:
    'Two-factor authentication is not available for this organization’s sign-in method.',
  errInvalidCidr: 'One of the networks is not a valid CIDR block.',
  errUnavailable: 'The service is temporarily unavailable. Try again in a moment.',
  unavailableTitle: 'Temporarily unavailable',
  errGeneric: 'Something went wrong. Try again.',
  signInStopped: 'Sign-in stopped',
  startAgain: 'Start again',
  cancel: 'Cancel',
  promptCannotContinueTitle: 'This sign-in cannot continue',
  promptCannotContinue:
    'This sign-in link is not valid here: it expired, was already used, or was opened in another browser. Go back to the app and sign in again.',
  closedExpired: 'The code has expired. Sign in again to get a new one.',
  closedLocked: 'Too many wrong codes: this sign-in is locked. Sign in again to get a new code.',
  closedCanceled:
    'This sign-in was canceled (the phone number or password changed). Sign in again.',
  closedApproved: 'This code was already used. Sign in again.',
  closedBalance: "We could not send the code: the organization's SMS credit has run out.",
  closedRejected:
    'We could not send the code: the phone number was refused. Contact your administrator.',
  closedPaused: 'We could not send the code right now. Try again later.',
  closedSendFailed: 'We could not send the code. Try again later.',
  closedOther: 'This sign-in cannot continue. Sign in again.',
  codeTitle: 'Enter your code',
  codeSentTo: (phone) => `Enter the 6-digit code we sent to ${phone}.`,
  codeSentToYourPhone: 'Enter the 6-digit code we sent to your phone.',
  codeLabel: '6-digit code',
  attemptsLeft: (n) => `${n} ${plural('en', n, { one: 'attempt', other: 'attempts' })} left.`,
  wrongCode: (n) =>
    `That code is wrong. ${n} ${plural('en', n, { one: 'attempt', other: 'attempts' })} left.`,
  trustDevice: 'Trust this device for 30 days',
  verify: 'Verify',
  noCode: 'No code?',
  sendsLeft: (n) => `You can ask for ${n} more.`,
  noMoreSends: 'No more codes can be sent for this sign-in.',
  resend: 'Resend code',
  resent: 'We sent you a new code.',
  phoneTitle: 'Your phone number',
  phoneIntro: 'We send a 6-digit code to your phone each time you sign in from a new device.',
  phoneLabel: 'Mobile phone number',
  phoneHelp: 'With the country code, e.g. +358 40 123 4567.',
  sendCode: 'Send code',
  accountTitle: 'Your account',
  signedInHeading: 'You are signed in',
  signedInAs: 'Signed in as',
  atOrganization: (organization) => ` at ${organization}`,
  adminOf: 'You administer this organization: see its',
  adminOfLink: 'two-factor authentication settings',
  logOut: 'Log out',
  passwordSettingsTitle: 'Two-factor authentication',
  settingsSaved: 'Settings saved.',
  nothingSaved: 'Nothing was saved: fix the entries marked below.',
  twoFactorHeading: 'Codes by SMS',
  twoFactorCheckbox: 'Ask for a code by SMS after the password',
  twoFactorHelp:
    'Users sign in with their password and a 6-digit code sent to their phone. A device they trust skips the code for 30 days.',
  twoFactorUnavailable: (method) =>
    `Unavailable: this organization signs in with ${method === 'saml2' ? 'SAML 2.0 single sign-on' : 'LDAP'}, so passwords and their second step are handled by that identity provider.`,
  cidrsLabel: 'Networks that skip the code',
  cidrsHelp:
    'One CIDR block a line, e.g. 192.168.10.0/24 or 2001:db8::/48. Sign-ins from these networks need no code.',
  cidrLineError: (line) => `Line ${line}:`,
  notCidr: 'is not a CIDR block',
  countriesLabel: 'Countries that codes may be sent to',
  countriesHelp: 'Two-letter country codes separated by commas, e.g. FI, SE. Empty: any country.',
  notCountry: 'is not a two-letter country code',
  saveSettings: 'Save settings',
  usersTitle: 'Users',
  searchByEmail: 'Search by email',
  search: 'Search',
  userCount: (n) => `${n} ${plural('en', n, { one: 'user', other: 'users' })}`,
  matching: (q) => ` matching “${q}”`,
  colEmail: 'Email',
  colPhone: 'Phone',
  colRole: 'Role',
  colTwoFactor: 'Two-factor',
  colActions: 'Actions',
  roles: { admin: 'Administrator', member: 'Member' },
  twoFactorDisabledForUser: 'Disabled for this user',
  twoFactorRequired: 'Required',
  lockedUntil: (until) => `Locked until ${until}`,
  requireTwoFactor: 'Require two-factor authentication',
  disableTwoFactor: 'Disable two-factor authentication',
  revokeDevices: 'Revoke trusted devices',
  unlock: 'Unlock',
  pagerLabel: 'Pages',
  previous: '← Previous',
  next: 'Next →',
  pageOf: (page, pages) => `Page ${page} of ${pages}`,
  noticeExempted: 'Two-factor authentication is now off for that user.',
  noticeUnexempted: 'Two-factor authentication applies to that user again.',
  noticeRevoked: "The user's trusted devices were revoked: their next sign-in asks for a code.",
  noticeUnlocked: 'The user was unlocked.',
  notFoundTitle: 'Not found',
  userNotFound: 'User not found',
  backToUsers: 'Back to the users',
  appsTitle: 'Apps',
  appsIntro:
    'Apps that keep their own sign-in and send their users here for the second step, over OpenID Connect. Give an app’s developers its client id and secret.',
  registeredApps: 'Registered apps',
  registerAppHeading: 'Register an app',
  appNameLabel: 'Name',
  redirectUrisLabel: 'Redirect URIs',
  redirectUrisHelp:
    'One a line, at most 10: https, or http on localhost, 127.0.0.1 or [::1]. A sign-in must name one of them exactly.',
  registerApp: 'Register',
  colName: 'Name',
  colClientId: 'Client id',
  colRedirectUris: 'Redirect URIs',
  colCreated: 'Created',
  rotateSecret: 'New secret',
  deleteApp: 'Delete',
  noApps: 'No apps yet.',
  appRegistered: (app) => `${app} is registered.`,
  secretRotated: (app) => `${app} has a new secret; the old one no longer works.`,
  secretOnce: 'Copy the secret now: it is shown only this once.',
  clientIdLabel: 'Client id',
  clientSecretLabel: 'Client secret',
  appDeleted: 'The app is deleted: its secret, pending sign-ins and codes no longer work.',
  appNotFound: 'No such app.',
  backToApps: 'Back to apps',
  notRedirectUri: 'is not an allowed redirect URI.',
  appNameInvalid: 'Give the app a name of 1 to 100 characters.',
  redirectUrisCount: 'Give 1 to 10 redirect URIs, one a line.',
  subscriptionTitle: 'Subscription',
  smsBalance: 'SMS balance',
  credits: (n) => `${n} ${plural('en', n, { one: 'credit', other: 'credits' })}`,
  oneCodeOneCredit: 'One code sent is one credit.',
  lowBalance: (threshold) =>
    `The balance is low (below ${threshold} credits). When it runs out, no codes are sent and users cannot finish signing in. Contact your provider to add credits.`,
  recentActivity: 'Recent activity',
  colWhen: 'When',
  colWhat: 'What',
  colChange: 'Change',
  colBalanceAfter: 'Balance after',
  ledgerReasons: { top_up: 'Credits added', sms_sent: 'Code sent', refund: 'Refund (not sent)' },
  nothingYet: 'Nothing yet.',
  auditTitle: 'Audit log',
  colEvent: 'Event',
  colBy: 'By',
  colIp: 'IP address',
  colDetails: 'Details',
  auditEvents: {
    organization_updated: 'Organization updated',
    settings_changed: 'Settings changed',
    user_created: 'User created',
    phone_changed: 'Phone number changed',
    user_exempted: 'Two-factor authentication turned off for a user',
    user_unexempted: 'Two-factor authentication required of a user again',
    trusted_devices_revoked: 'Trusted devices revoked',
    user_locked: 'User locked',
    user_unlocked: 'User unlocked',
    sms_paused: 'Code sending paused',
    challenge_locked: 'Sign-in locked after wrong codes',
    sms_credits_added: 'SMS credits added',
    sms_balance_low: 'SMS balance low',
    sms_unknown_settled: 'Unconfirmed code send settled',
  },
  noEvents: 'No events.',
  newest: 'Newest',
  older: 'Older →',
  navWebhooks: 'Webhooks',
  webhooksTitle: 'Webhooks',
  webhooksIntro:
    'Your own systems hear about events as they happen: each is POSTed as JSON, signed per Standard Webhooks, and retried for over a day until it is taken.',
  webhookAddHeading: 'Add a webhook',
  webhookUrl: 'URL',
  webhookUrlHelp: 'An https address on the public internet.',
  webhookEvents: 'Events',
  webhookEventsHelp: 'None checked: every event.',
  webhookAddButton: 'Add webhook',
  webhookUrlProblems: {
    malformed: 'That is not a usable URL (an absolute https URL with no user name or password).',
    scheme: 'The URL must start with https://.',
    address: 'The URL points to a private, local or otherwise non-public address.',
    unresolvable: 'The host name in the URL does not resolve.',
  },
  webhookCreated: 'Webhook added.',
  webhookSecret: 'Signing secret',
  webhookSecretOnce:
    'Copy it now: it is shown only this once. Your receiver verifies each request with it.',
  webhookNone: 'No webhooks yet.',
  webhookAllEvents: 'All events',
  webhookActive: 'Active',
  webhookDisabled: (at) => `Disabled on ${at}`,
  webhookDisabledReasons: {
    consecutive_failures:
      'No delivery succeeded for 3 days. Fix the receiver, then turn this webhook on again.',
    disabled_by_request: 'Turned off by an administrator.',
  },
  webhookFailingSince: (since) => `Failing since ${since}`,
  webhookSendTest: 'Send a test event',
  webhookDelete: 'Delete',
  webhookDeleted: 'Webhook deleted.',
  webhookEnable: 'Turn on again',
  webhookDisable: 'Turn off',
  webhookEnabledNotice: 'Webhook turned on again; new events are delivered from now on.',
  webhookDisabledNotice: 'Webhook turned off; no events are delivered to it.',
  webhookEnableRefused:
    'Not turned on: its URL no longer passes the checks (for example, its host now points to a private address). Add a new webhook with a working URL.',
  webhookTestQueued: 'Test event queued; it appears below once sent.',
  webhookNotFound: 'No such webhook.',
  webhookDeliveries: 'Recent deliveries',
  webhookNoDeliveries: 'No deliveries yet.',
  colStatus: 'Status',
  colAttempts: 'Attempts',
  colResponse: 'Last answer',
  deliveryStatuses: { pending: 'Retrying', delivered: 'Delivered', failed: 'Failed' },
  webhookEventNames: {
    challenge_approved: 'Sign-in code accepted',
    challenge_failed: 'Sign-in code could not be sent',
    webhook_created: 'Webhook added',
    webhook_deleted: 'Webhook deleted',
    webhook_test: 'Test event',
  },
};

const fi: Messages = {
  ...GUIDANCE.fi,
  ...FACTOR_MESSAGES.fi,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Päävalikko',
  navAccount: 'Tili',
  navPasswordSettings: 'Kaksivaiheinen tunnistautuminen',
  navUsers: 'Käyttäjät',
  navSubscription: 'Tilaus',
  navAudit: 'Tapahtumaloki',
  navApps: 'Sovellukset',
  forbiddenTitle: 'Ei käyttöoikeutta',
  forbiddenCsrf:
    'Lomaketta ei lähetetty tämän sivuston sivulta, tai sivu on liian vanha. Palaa takaisin, lataa sivu uudelleen ja yritä uudestaan.',
  forbiddenSettings: 'Vain organisaation pääkäyttäjät voivat avata asetukset.',
  signInTitle: 'Kirjaudu sisään',
  signInTo: (organization) => `Kirjaudu sisään: ${organization}`,
  organizationId: 'Organisaatio',
  email: 'Sähköposti',
  password: 'Salasana',
  signInButton: 'Kirjaudu sisään',
  noSuchOrganization:
    'Tällä tunnuksella ei löydy organisaatiota. Tarkista saamasi kirjautumislinkki.',
  enterEmailAndPassword: 'Anna sähköpostiosoitteesi ja salasanasi.',
  errInvalidCredentials: 'Sähköpostiosoite tai salasana on väärä.',
  errRateLimited: (s) =>
    s === null
      ? 'Liian monta yritystä. Yritä hetken kuluttua uudelleen.'
      : `Liian monta yritystä. Yritä uudelleen ${s} sekunnin kuluttua.`,
  errUserLocked: (until) =>
    until === null
      ? 'Liian monta väärää koodia peräkkäin: tilisi on lukittu. Ota yhteyttä pääkäyttäjään.'
      : `Liian monta väärää koodia peräkkäin: tilisi on lukittu ${until} asti. Pääkäyttäjä voi avata lukituksen aiemmin.`,
  errChallengeExpired: 'Koodi on vanhentunut. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  errChallengeLocked:
    'Liian monta väärää koodia: tämä kirjautuminen on lukittu. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  errChallengeNotPending: 'Tätä kirjautumista ei voi jatkaa. Kirjaudu sisään uudelleen.',
  errResendTooSoon: (s) =>
    `Odota ${s} ${plural('fi', s, { one: 'sekunti', other: 'sekuntia' })} ennen kuin pyydät uuden koodin.`,
  errTooManySends:
    'Tähän kirjautumiseen ei voi lähettää enempää koodeja. Kirjaudu sisään myöhemmin uudelleen.',
  errSmsPaused: 'Emme voi juuri nyt lähettää koodeja tähän numeroon. Yritä myöhemmin uudelleen.',
  errInvalidPhone:
    'Tämä ei näytä matkapuhelinnumerolta. Tarkista numero ja lisää siihen maatunnus.',
  errPhoneCountryNotAllowed: (countries) =>
    `Koodeja voi lähettää vain näiden maiden numeroihin: ${countries}.`,
  errPhoneAlreadySet: 'Tilillesi on jo lisätty puhelinnumero. Kirjaudu sisään uudelleen.',
  errTwoFactorUnavailable:
    'Kaksivaiheinen tunnistautuminen ei ole käytettävissä tämän organisaation kirjautumistavalla.',
  errInvalidCidr: 'Yksi verkoista ei ole kelvollinen CIDR-lohko.',
  errUnavailable: 'Palvelu ei ole tilapäisesti käytettävissä. Yritä hetken kuluttua uudelleen.',
  unavailableTitle: 'Tilapäisesti poissa käytöstä',
  errGeneric: 'Jokin meni vikaan. Yritä uudelleen.',
  signInStopped: 'Kirjautuminen keskeytyi',
  startAgain: 'Aloita alusta',
  cancel: 'Peruuta',
  promptCannotContinueTitle: 'Kirjautuminen ei voi jatkua',
  promptCannotContinue:
    'Tämä kirjautumislinkki ei kelpaa täällä: se on vanhentunut, jo käytetty tai avattu toisessa selaimessa. Palaa sovellukseen ja kirjaudu uudelleen.',
  closedExpired: 'Koodi on vanhentunut. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  closedLocked:
    'Liian monta väärää koodia: tämä kirjautuminen on lukittu. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  closedCanceled:
    'Tämä kirjautuminen peruttiin (puhelinnumero tai salasana vaihtui). Kirjaudu sisään uudelleen.',
  closedApproved: 'Tämä koodi on jo käytetty. Kirjaudu sisään uudelleen.',
  closedBalance: 'Emme voineet lähettää koodia: organisaation tekstiviestisaldo on loppunut.',
  closedRejected:
    'Emme voineet lähettää koodia: puhelinnumeroon ei voitu lähettää viestiä. Ota yhteyttä pääkäyttäjään.',
  closedPaused: 'Emme voineet lähettää koodia juuri nyt. Yritä myöhemmin uudelleen.',
  closedSendFailed: 'Emme voineet lähettää koodia. Yritä myöhemmin uudelleen.',
  closedOther: 'Tätä kirjautumista ei voi jatkaa. Kirjaudu sisään uudelleen.',
  codeTitle: 'Anna koodi',
  codeSentTo: (phone) => `Anna 6-numeroinen koodi, jonka lähetimme numeroon ${phone}.`,
  codeSentToYourPhone: 'Anna 6-numeroinen koodi, jonka lähetimme puhelimeesi.',
  codeLabel: '6-numeroinen koodi',
  attemptsLeft: (n) => `${n} ${plural('fi', n, { one: 'yritys', other: 'yritystä' })} jäljellä.`,
  wrongCode: (n) =>
    `Koodi on väärä. ${n} ${plural('fi', n, { one: 'yritys', other: 'yritystä' })} jäljellä.`,
  trustDevice: 'Luota tähän laitteeseen 30 päivän ajan',
  verify: 'Vahvista',
  noCode: 'Eikö koodia tullut?',
  sendsLeft: (n) =>
    `Voit pyytää vielä ${n} ${plural('fi', n, { one: 'koodin', other: 'koodia' })}.`,
  noMoreSends: 'Tähän kirjautumiseen ei voi lähettää enempää koodeja.',
  resend: 'Lähetä koodi uudelleen',
  resent: 'Lähetimme sinulle uuden koodin.',
  phoneTitle: 'Puhelinnumerosi',
  phoneIntro:
    'Lähetämme puhelimeesi 6-numeroisen koodin aina, kun kirjaudut sisään uudelta laitteelta.',
  phoneLabel: 'Matkapuhelinnumero',
  phoneHelp: 'Maatunnuksen kanssa, esim. +358 40 123 4567.',
  sendCode: 'Lähetä koodi',
  accountTitle: 'Oma tili',
  signedInHeading: 'Olet kirjautunut sisään',
  signedInAs: 'Kirjautuneena:',
  atOrganization: (organization) => `, ${organization}`,
  adminOf: 'Olet tämän organisaation pääkäyttäjä: katso sen',
  adminOfLink: 'kaksivaiheisen tunnistautumisen asetukset',
  logOut: 'Kirjaudu ulos',
  passwordSettingsTitle: 'Kaksivaiheinen tunnistautuminen',
  settingsSaved: 'Asetukset tallennettiin.',
  nothingSaved: 'Mitään ei tallennettu: korjaa alla merkityt kohdat.',
  twoFactorHeading: 'Koodit tekstiviestillä',
  twoFactorCheckbox: 'Pyydä salasanan jälkeen tekstiviestillä lähetetty koodi',
  twoFactorHelp:
    'Käyttäjät kirjautuvat salasanalla ja puhelimeen lähetetyllä 6-numeroisella koodilla. Luotetulta laitteelta koodia ei kysytä 30 päivään.',
  twoFactorUnavailable: (method) =>
    `Ei käytettävissä: tämä organisaatio kirjautuu ${method === 'saml2' ? 'SAML 2.0 -kertakirjautumisella' : 'LDAP:n kautta'}, joten salasanoista ja niiden toisesta vaiheesta huolehtii tunnistuspalvelu.`,
  cidrsLabel: 'Verkot, joista koodia ei kysytä',
  cidrsHelp:
    'Yksi CIDR-lohko riville, esim. 192.168.10.0/24 tai 2001:db8::/48. Näistä verkoista kirjauduttaessa koodia ei tarvita.',
  cidrLineError: (line) => `Rivi ${line}:`,
  notCidr: 'ei ole CIDR-lohko',
  countriesLabel: 'Maat, joihin koodeja saa lähettää',
  countriesHelp:
    'Kaksikirjaimiset maakoodit pilkuilla erotettuina, esim. FI, SE. Tyhjä: kaikki maat.',
  notCountry: 'ei ole kaksikirjaiminen maakoodi',
  saveSettings: 'Tallenna asetukset',
  usersTitle: 'Käyttäjät',
  searchByEmail: 'Hae sähköpostiosoitteella',
  search: 'Hae',
  userCount: (n) => `${n} ${plural('fi', n, { one: 'käyttäjä', other: 'käyttäjää' })}`,
  matching: (q) => `, haku ”${q}”`,
  colEmail: 'Sähköposti',
  colPhone: 'Puhelin',
  colRole: 'Rooli',
  colTwoFactor: 'Kaksivaiheinen',
  colActions: 'Toiminnot',
  roles: { admin: 'Pääkäyttäjä', member: 'Jäsen' },
  twoFactorDisabledForUser: 'Poistettu käytöstä tältä käyttäjältä',
  twoFactorRequired: 'Pakollinen',
  lockedUntil: (until) => `Lukittu ${until} asti`,
  requireTwoFactor: 'Vaadi kaksivaiheinen tunnistautuminen',
  disableTwoFactor: 'Poista kaksivaiheinen tunnistautuminen käytöstä',
  revokeDevices: 'Peru luotetut laitteet',
  unlock: 'Avaa lukitus',
  pagerLabel: 'Sivut',
  previous: '← Edellinen',
  next: 'Seuraava →',
  pageOf: (page, pages) => `Sivu ${page}/${pages}`,
  noticeExempted: 'Kaksivaiheinen tunnistautuminen on nyt poissa käytöstä tältä käyttäjältä.',
  noticeUnexempted: 'Kaksivaiheinen tunnistautuminen koskee taas tätä käyttäjää.',
  noticeRevoked:
    'Käyttäjän luotetut laitteet peruttiin: seuraavalla kirjautumisella häneltä kysytään koodi.',
  noticeUnlocked: 'Käyttäjän lukitus avattiin.',
  notFoundTitle: 'Ei löytynyt',
  userNotFound: 'Käyttäjää ei löytynyt',
  backToUsers: 'Takaisin käyttäjiin',
  appsTitle: 'Sovellukset',
  appsIntro:
    'Sovellukset, joilla on oma kirjautumisensa ja jotka ohjaavat käyttäjänsä tänne toiseen vaiheeseen OpenID Connectilla. Anna sovelluksen kehittäjille sen asiakastunnus ja salaisuus.',
  registeredApps: 'Rekisteröidyt sovellukset',
  registerAppHeading: 'Rekisteröi sovellus',
  appNameLabel: 'Nimi',
  redirectUrisLabel: 'Paluuosoitteet',
  redirectUrisHelp:
    'Yksi riville, enintään 10: https, tai http osoitteissa localhost, 127.0.0.1 tai [::1]. Kirjautumisen on käytettävä jotakin niistä täsmälleen.',
  registerApp: 'Rekisteröi',
  colName: 'Nimi',
  colClientId: 'Asiakastunnus',
  colRedirectUris: 'Paluuosoitteet',
  colCreated: 'Luotu',
  rotateSecret: 'Uusi salaisuus',
  deleteApp: 'Poista',
  noApps: 'Ei vielä sovelluksia.',
  appRegistered: (app) => `${app} on rekisteröity.`,
  secretRotated: (app) => `Sovelluksella ${app} on uusi salaisuus; vanha ei enää toimi.`,
  secretOnce: 'Kopioi salaisuus nyt: se näytetään vain tämän kerran.',
  clientIdLabel: 'Asiakastunnus',
  clientSecretLabel: 'Asiakassalaisuus',
  appDeleted:
    'Sovellus on poistettu: sen salaisuus, keskeneräiset kirjautumiset ja koodit eivät enää toimi.',
  appNotFound: 'Sovellusta ei löydy.',
  backToApps: 'Takaisin sovelluksiin',
  notRedirectUri: 'ei ole sallittu paluuosoite.',
  appNameInvalid: 'Anna sovellukselle 1–100 merkin nimi.',
  redirectUrisCount: 'Anna 1–10 paluuosoitetta, yksi riville.',
  subscriptionTitle: 'Tilaus',
  smsBalance: 'Tekstiviestisaldo',
  credits: (n) => `${n} ${plural('fi', n, { one: 'krediitti', other: 'krediittiä' })}`,
  oneCodeOneCredit: 'Yksi lähetetty koodi on yksi krediitti.',
  lowBalance: (threshold) =>
    `Saldo on vähissä (alle ${threshold} krediittiä). Kun se loppuu, koodeja ei lähetetä eivätkä käyttäjät pääse kirjautumaan loppuun. Pyydä palveluntarjoajaltasi lisää krediittejä.`,
  recentActivity: 'Viimeaikaiset tapahtumat',
  colWhen: 'Aika',
  colWhat: 'Tapahtuma',
  colChange: 'Muutos',
  colBalanceAfter: 'Saldo jälkeen',
  ledgerReasons: {
    top_up: 'Krediittejä lisätty',
    sms_sent: 'Koodi lähetetty',
    refund: 'Hyvitys (ei lähetetty)',
  },
  nothingYet: 'Ei vielä mitään.',
  auditTitle: 'Tapahtumaloki',
  colEvent: 'Tapahtuma',
  colBy: 'Tekijä',
  colIp: 'IP-osoite',
  colDetails: 'Tiedot',
  auditEvents: {
    organization_updated: 'Organisaatiota muutettu',
    settings_changed: 'Asetuksia muutettu',
    user_created: 'Käyttäjä luotu',
    phone_changed: 'Puhelinnumero vaihdettu',
    user_exempted: 'Kaksivaiheinen tunnistautuminen poistettu käyttäjältä',
    user_unexempted: 'Kaksivaiheinen tunnistautuminen vaaditaan taas käyttäjältä',
    trusted_devices_revoked: 'Luotetut laitteet peruttu',
    user_locked: 'Käyttäjä lukittu',
    user_unlocked: 'Käyttäjän lukitus avattu',
    sms_paused: 'Koodien lähetys keskeytetty',
    challenge_locked: 'Kirjautuminen lukittu väärien koodien jälkeen',
    sms_credits_added: 'Tekstiviestikrediittejä lisätty',
    sms_balance_low: 'Tekstiviestisaldo vähissä',
    sms_unknown_settled: 'Vahvistamaton koodin lähetys selvitetty',
  },
  noEvents: 'Ei tapahtumia.',
  newest: 'Uusimmat',
  older: 'Vanhemmat →',
  navWebhooks: 'Webhookit',
  webhooksTitle: 'Webhookit',
  webhooksIntro:
    'Omat järjestelmänne saavat tiedon tapahtumista heti: kukin lähetetään JSON-muodossa POST-pyyntönä, Standard Webhooks -allekirjoitettuna, ja sitä yritetään uudelleen yli vuorokauden ajan, kunnes se otetaan vastaan.',
  webhookAddHeading: 'Lisää webhook',
  webhookUrl: 'URL-osoite',
  webhookUrlHelp: 'Julkisessa internetissä oleva https-osoite.',
  webhookEvents: 'Tapahtumat',
  webhookEventsHelp: 'Jos mitään ei ole valittu: kaikki tapahtumat.',
  webhookAddButton: 'Lisää webhook',
  webhookUrlProblems: {
    malformed:
      'URL-osoite ei kelpaa (täydellinen https-osoite ilman käyttäjätunnusta tai salasanaa).',
    scheme: 'URL-osoitteen on alettava https://.',
    address: 'URL-osoite osoittaa yksityiseen, paikalliseen tai muuten ei-julkiseen osoitteeseen.',
    unresolvable: 'URL-osoitteen palvelinnimeä ei löydy.',
  },
  webhookCreated: 'Webhook lisätty.',
  webhookSecret: 'Allekirjoitusavain',
  webhookSecretOnce:
    'Kopioi se nyt: se näytetään vain tämän kerran. Vastaanottajanne tarkistaa jokaisen pyynnön sillä.',
  webhookNone: 'Ei vielä webhookeja.',
  webhookAllEvents: 'Kaikki tapahtumat',
  webhookActive: 'Käytössä',
  webhookDisabled: (at) => `Poistettu käytöstä ${at}`,
  webhookDisabledReasons: {
    consecutive_failures:
      'Yksikään toimitus ei onnistunut 3 päivään. Korjatkaa vastaanottaja ja ottakaa webhook sitten uudelleen käyttöön.',
    disabled_by_request: 'Ylläpitäjä poisti sen käytöstä.',
  },
  webhookFailingSince: (since) => `Epäonnistunut ${since} lähtien`,
  webhookSendTest: 'Lähetä testitapahtuma',
  webhookDelete: 'Poista',
  webhookDeleted: 'Webhook poistettu.',
  webhookEnable: 'Ota uudelleen käyttöön',
  webhookDisable: 'Poista käytöstä',
  webhookEnabledNotice: 'Webhook on taas käytössä; uudet tapahtumat toimitetaan tästä lähtien.',
  webhookDisabledNotice: 'Webhook poistettu käytöstä; sille ei toimiteta tapahtumia.',
  webhookEnableRefused:
    'Ei otettu käyttöön: sen URL ei enää läpäise tarkistuksia (esimerkiksi palvelimen nimi osoittaa nyt yksityiseen osoitteeseen). Lisätkää uusi webhook toimivalla URL:lla.',
  webhookTestQueued: 'Testitapahtuma jonossa; se näkyy alla, kun se on lähetetty.',
  webhookNotFound: 'Webhookia ei löydy.',
  webhookDeliveries: 'Viimeisimmät toimitukset',
  webhookNoDeliveries: 'Ei vielä toimituksia.',
  colStatus: 'Tila',
  colAttempts: 'Yrityksiä',
  colResponse: 'Viimeisin vastaus',
  deliveryStatuses: {
    pending: 'Yritetään uudelleen',
    delivered: 'Toimitettu',
    failed: 'Epäonnistui',
  },
  webhookEventNames: {
    challenge_approved: 'Kirjautumiskoodi hyväksytty',
    challenge_failed: 'Kirjautumiskoodia ei voitu lähettää',
    webhook_created: 'Webhook lisätty',
    webhook_deleted: 'Webhook poistettu',
    webhook_test: 'Testitapahtuma',
  },
};

const sv: Messages = {
  ...GUIDANCE.sv,
  ...FACTOR_MESSAGES.sv,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Huvudmeny',
  navAccount: 'Konto',
  navPasswordSettings: 'Tvåstegsverifiering',
  navUsers: 'Användare',
  navSubscription: 'Abonnemang',
  navAudit: 'Händelselogg',
  navApps: 'Appar',
  forbiddenTitle: 'Åtkomst nekad',
  forbiddenCsrf:
    'Formuläret skickades inte från den här webbplatsens sida, eller så är sidan för gammal. Gå tillbaka, ladda om sidan och försök igen.',
  forbiddenSettings: 'Endast organisationens administratörer kan öppna inställningarna.',
  signInTitle: 'Logga in',
  signInTo: (organization) => `Logga in på ${organization}`,
  organizationId: 'Organisation',
  email: 'E-post',
  password: 'Lösenord',
  signInButton: 'Logga in',
  noSuchOrganization:
    'Det finns ingen organisation med det ID:t. Kontrollera inloggningslänken du har fått.',
  enterEmailAndPassword: 'Ange din e-postadress och ditt lösenord.',
  errInvalidCredentials: 'E-postadressen eller lösenordet är fel.',
  errRateLimited: (s) =>
    s === null
      ? 'För många försök. Försök igen om en stund.'
      : `För många försök. Försök igen om ${s} ${plural('sv', s, { one: 'sekund', other: 'sekunder' })}.`,
  errUserLocked: (until) =>
    until === null
      ? 'För många felaktiga koder i rad: ditt konto är låst. Kontakta din administratör.'
      : `För många felaktiga koder i rad: ditt konto är låst till ${until}. Din administratör kan låsa upp det tidigare.`,
  errChallengeExpired: 'Koden har gått ut. Logga in igen för att få en ny.',
  errChallengeLocked:
    'För många felaktiga koder: den här inloggningen är låst. Logga in igen för att få en ny kod.',
  errChallengeNotPending: 'Den här inloggningen kan inte fortsätta. Logga in igen.',
  errResendTooSoon: (s) =>
    `Vänta ${s} ${plural('sv', s, { one: 'sekund', other: 'sekunder' })} innan du ber om en ny kod.`,
  errTooManySends: 'Inga fler koder kan skickas för den här inloggningen. Logga in igen senare.',
  errSmsPaused: 'Vi kan inte skicka koder till det här numret just nu. Försök igen senare.',
  errInvalidPhone:
    'Det ser inte ut som ett mobilnummer. Kontrollera numret och ta med landsnumret.',
  errPhoneCountryNotAllowed: (countries) =>
    `Koder kan bara skickas till nummer i dessa länder: ${countries}.`,
  errPhoneAlreadySet: 'Ditt konto har redan ett telefonnummer. Logga in igen.',
  errTwoFactorUnavailable:
    'Tvåstegsverifiering är inte tillgänglig med organisationens inloggningsmetod.',
  errInvalidCidr: 'Ett av näten är inte ett giltigt CIDR-block.',
  errUnavailable: 'Tjänsten är tillfälligt otillgänglig. Försök igen om en stund.',
  unavailableTitle: 'Tillfälligt otillgänglig',
  errGeneric: 'Något gick fel. Försök igen.',
  signInStopped: 'Inloggningen avbröts',
  startAgain: 'Börja om',
  cancel: 'Avbryt',
  promptCannotContinueTitle: 'Inloggningen kan inte fortsätta',
  promptCannotContinue:
    'Den här inloggningslänken gäller inte här: den har gått ut, redan använts eller öppnats i en annan webbläsare. Gå tillbaka till appen och logga in igen.',
  closedExpired: 'Koden har gått ut. Logga in igen för att få en ny.',
  closedLocked:
    'För många felaktiga koder: den här inloggningen är låst. Logga in igen för att få en ny kod.',
  closedCanceled:
    'Den här inloggningen avbröts (telefonnumret eller lösenordet ändrades). Logga in igen.',
  closedApproved: 'Den här koden har redan använts. Logga in igen.',
  closedBalance: 'Vi kunde inte skicka koden: organisationens sms-saldo är slut.',
  closedRejected:
    'Vi kunde inte skicka koden: telefonnumret godtogs inte. Kontakta din administratör.',
  closedPaused: 'Vi kunde inte skicka koden just nu. Försök igen senare.',
  closedSendFailed: 'Vi kunde inte skicka koden. Försök igen senare.',
  closedOther: 'Den här inloggningen kan inte fortsätta. Logga in igen.',
  codeTitle: 'Ange din kod',
  codeSentTo: (phone) => `Ange den sexsiffriga koden som vi skickade till ${phone}.`,
  codeSentToYourPhone: 'Ange den sexsiffriga koden som vi skickade till din telefon.',
  codeLabel: 'Sexsiffrig kod',
  attemptsLeft: (n) => `${n} försök kvar.`,
  wrongCode: (n) => `Koden är fel. ${n} försök kvar.`,
  trustDevice: 'Lita på den här enheten i 30 dagar',
  verify: 'Verifiera',
  noCode: 'Ingen kod?',
  sendsLeft: (n) => `Du kan be om ${n} till.`,
  noMoreSends: 'Inga fler koder kan skickas för den här inloggningen.',
  resend: 'Skicka koden igen',
  resent: 'Vi har skickat en ny kod till dig.',
  phoneTitle: 'Ditt telefonnummer',
  phoneIntro:
    'Vi skickar en sexsiffrig kod till din telefon varje gång du loggar in från en ny enhet.',
  phoneLabel: 'Mobilnummer',
  phoneHelp: 'Med landsnummer, t.ex. +358 40 123 4567.',
  sendCode: 'Skicka kod',
  accountTitle: 'Ditt konto',
  signedInHeading: 'Du är inloggad',
  signedInAs: 'Inloggad som',
  atOrganization: (organization) => ` hos ${organization}`,
  adminOf: 'Du administrerar den här organisationen: se dess',
  adminOfLink: 'inställningar för tvåstegsverifiering',
  logOut: 'Logga ut',
  passwordSettingsTitle: 'Tvåstegsverifiering',
  settingsSaved: 'Inställningarna har sparats.',
  nothingSaved: 'Inget sparades: rätta de markerade uppgifterna nedan.',
  twoFactorHeading: 'Koder via sms',
  twoFactorCheckbox: 'Be om en kod via sms efter lösenordet',
  twoFactorHelp:
    'Användarna loggar in med sitt lösenord och en sexsiffrig kod som skickas till deras telefon. På en betrodd enhet behövs ingen kod i 30 dagar.',
  twoFactorUnavailable: (method) =>
    `Inte tillgänglig: den här organisationen loggar in med ${method === 'saml2' ? 'SAML 2.0-enkel inloggning' : 'LDAP'}, så lösenord och deras andra steg hanteras av den identitetsleverantören.`,
  cidrsLabel: 'Nät som inte behöver någon kod',
  cidrsHelp:
    'Ett CIDR-block per rad, t.ex. 192.168.10.0/24 eller 2001:db8::/48. Inloggningar från de här näten behöver ingen kod.',
  cidrLineError: (line) => `Rad ${line}:`,
  notCidr: 'är inte ett CIDR-block',
  countriesLabel: 'Länder som koder får skickas till',
  countriesHelp:
    'Landskoder med två bokstäver, åtskilda med kommatecken, t.ex. FI, SE. Tomt: alla länder.',
  notCountry: 'är inte en landskod med två bokstäver',
  saveSettings: 'Spara inställningarna',
  usersTitle: 'Användare',
  searchByEmail: 'Sök på e-postadress',
  search: 'Sök',
  userCount: (n) => `${n} användare`,
  matching: (q) => ` som matchar ”${q}”`,
  colEmail: 'E-post',
  colPhone: 'Telefon',
  colRole: 'Roll',
  colTwoFactor: 'Tvåstegsverifiering',
  colActions: 'Åtgärder',
  roles: { admin: 'Administratör', member: 'Medlem' },
  twoFactorDisabledForUser: 'Avstängd för den här användaren',
  twoFactorRequired: 'Krävs',
  lockedUntil: (until) => `Låst till ${until}`,
  requireTwoFactor: 'Kräv tvåstegsverifiering',
  disableTwoFactor: 'Stäng av tvåstegsverifiering',
  revokeDevices: 'Återkalla betrodda enheter',
  unlock: 'Lås upp',
  pagerLabel: 'Sidor',
  previous: '← Föregående',
  next: 'Nästa →',
  pageOf: (page, pages) => `Sida ${page} av ${pages}`,
  noticeExempted: 'Tvåstegsverifiering är nu avstängd för den användaren.',
  noticeUnexempted: 'Tvåstegsverifiering gäller den användaren igen.',
  noticeRevoked: 'Användarens betrodda enheter återkallades: vid nästa inloggning krävs en kod.',
  noticeUnlocked: 'Användaren låstes upp.',
  notFoundTitle: 'Hittades inte',
  userNotFound: 'Användaren hittades inte',
  backToUsers: 'Tillbaka till användarna',
  appsTitle: 'Appar',
  appsIntro:
    'Appar som har en egen inloggning och skickar sina användare hit för det andra steget, med OpenID Connect. Ge appens utvecklare dess klient-id och hemlighet.',
  registeredApps: 'Registrerade appar',
  registerAppHeading: 'Registrera en app',
  appNameLabel: 'Namn',
  redirectUrisLabel: 'Omdirigerings-URI:er',
  redirectUrisHelp:
    'En per rad, högst 10: https, eller http på localhost, 127.0.0.1 eller [::1]. En inloggning måste ange en av dem exakt.',
  registerApp: 'Registrera',
  colName: 'Namn',
  colClientId: 'Klient-id',
  colRedirectUris: 'Omdirigerings-URI:er',
  colCreated: 'Skapad',
  rotateSecret: 'Ny hemlighet',
  deleteApp: 'Ta bort',
  noApps: 'Inga appar ännu.',
  appRegistered: (app) => `${app} är registrerad.`,
  secretRotated: (app) => `${app} har en ny hemlighet; den gamla fungerar inte längre.`,
  secretOnce: 'Kopiera hemligheten nu: den visas bara denna gång.',
  clientIdLabel: 'Klient-id',
  clientSecretLabel: 'Klienthemlighet',
  appDeleted:
    'Appen är borttagen: dess hemlighet, pågående inloggningar och koder fungerar inte längre.',
  appNotFound: 'Appen finns inte.',
  backToApps: 'Tillbaka till apparna',
  notRedirectUri: 'är inte en tillåten omdirigerings-URI.',
  appNameInvalid: 'Ge appen ett namn på 1–100 tecken.',
  redirectUrisCount: 'Ange 1–10 omdirigerings-URI:er, en per rad.',
  subscriptionTitle: 'Abonnemang',
  smsBalance: 'Sms-saldo',
  credits: (n) => `${n} ${plural('sv', n, { one: 'kredit', other: 'krediter' })}`,
  oneCodeOneCredit: 'En skickad kod kostar en kredit.',
  lowBalance: (threshold) =>
    `Saldot är lågt (under ${threshold} krediter). När det tar slut skickas inga koder och användarna kan inte slutföra inloggningen. Kontakta din leverantör för att fylla på krediter.`,
  recentActivity: 'Senaste händelser',
  colWhen: 'När',
  colWhat: 'Vad',
  colChange: 'Ändring',
  colBalanceAfter: 'Saldo efteråt',
  ledgerReasons: {
    top_up: 'Krediter tillagda',
    sms_sent: 'Kod skickad',
    refund: 'Återbetalning (inte skickad)',
  },
  nothingYet: 'Inget ännu.',
  auditTitle: 'Händelselogg',
  colEvent: 'Händelse',
  colBy: 'Av',
  colIp: 'IP-adress',
  colDetails: 'Detaljer',
  auditEvents: {
    organization_updated: 'Organisationen ändrad',
    settings_changed: 'Inställningar ändrade',
    user_created: 'Användare skapad',
    phone_changed: 'Telefonnummer ändrat',
    user_exempted: 'Tvåstegsverifiering avstängd för en användare',
    user_unexempted: 'Tvåstegsverifiering krävs igen av en användare',
    trusted_devices_revoked: 'Betrodda enheter återkallade',
    user_locked: 'Användare låst',
    user_unlocked: 'Användare upplåst',
    sms_paused: 'Kodutskick pausat',
    challenge_locked: 'Inloggning låst efter felaktiga koder',
    sms_credits_added: 'Sms-krediter tillagda',
    sms_balance_low: 'Lågt sms-saldo',
    sms_unknown_settled: 'Obekräftat kodutskick avstämt',
  },
  noEvents: 'Inga händelser.',
  newest: 'Senaste',
  older: 'Äldre →',
  navWebhooks: 'Webhook-anrop',
  webhooksTitle: 'Webhook-anrop',
  webhooksIntro:
    'Era egna system får höra om händelser när de sker: varje händelse skickas som JSON med POST, signerad enligt Standard Webhooks, och försöks igen i över ett dygn tills den tas emot.',
  webhookAddHeading: 'Lägg till en webhook',
  webhookUrl: 'Adress (URL)',
  webhookUrlHelp: 'En https-adress på det publika internet.',
  webhookEvents: 'Händelser',
  webhookEventsHelp: 'Ingen vald: alla händelser.',
  webhookAddButton: 'Lägg till webhook',
  webhookUrlProblems: {
    malformed:
      'URL:en går inte att använda (en fullständig https-URL utan användarnamn eller lösenord).',
    scheme: 'URL:en måste börja med https://.',
    address: 'URL:en pekar på en privat, lokal eller på annat sätt icke-publik adress.',
    unresolvable: 'Värdnamnet i URL:en går inte att slå upp.',
  },
  webhookCreated: 'Webhook tillagd.',
  webhookSecret: 'Signeringsnyckel',
  webhookSecretOnce:
    'Kopiera den nu: den visas bara denna gång. Er mottagare verifierar varje anrop med den.',
  webhookNone: 'Inga webhooks ännu.',
  webhookAllEvents: 'Alla händelser',
  webhookActive: 'Aktiv',
  webhookDisabled: (at) => `Avstängd ${at}`,
  webhookDisabledReasons: {
    consecutive_failures:
      'Ingen leverans lyckades på 3 dagar. Rätta mottagaren och slå sedan på denna webhook igen.',
    disabled_by_request: 'Avstängd av en administratör.',
  },
  webhookFailingSince: (since) => `Misslyckas sedan ${since}`,
  webhookSendTest: 'Skicka en testhändelse',
  webhookDelete: 'Ta bort',
  webhookDeleted: 'Webhook borttagen.',
  webhookEnable: 'Slå på igen',
  webhookDisable: 'Stäng av',
  webhookEnabledNotice: 'Webhooken är på igen; nya händelser levereras från och med nu.',
  webhookDisabledNotice: 'Webhooken är avstängd; inga händelser levereras till den.',
  webhookEnableRefused:
    'Inte påslagen: dess URL klarar inte längre kontrollerna (till exempel pekar värdnamnet nu på en privat adress). Lägg till en ny webhook med en fungerande URL.',
  webhookTestQueued: 'Testhändelsen är köad; den syns nedan när den skickats.',
  webhookNotFound: 'Ingen sådan webhook.',
  webhookDeliveries: 'Senaste leveranser',
  webhookNoDeliveries: 'Inga leveranser ännu.',
  colStatus: 'Läge',
  colAttempts: 'Försök',
  colResponse: 'Senaste svar',
  deliveryStatuses: { pending: 'Försöker igen', delivered: 'Levererad', failed: 'Misslyckades' },
  webhookEventNames: {
    challenge_approved: 'Inloggningskod godkänd',
    challenge_failed: 'Inloggningskoden kunde inte skickas',
    webhook_created: 'Webhook tillagd',
    webhook_deleted: 'Webhook borttagen',
    webhook_test: 'Testhändelse',
  },
};

export const CATALOGS: Readonly<Record<Locale, Messages>> = { en, fi, sv };

/** A page's language: its locale and texts, and how it writes dates. */
export interface PageLang {
  locale: Locale;
  t: Messages;
  /** A moment as date and time in UTC, in the locale's own format. */
  dateTime: (at: Date) => string;
}

const formatters = new Map<Locale, Intl.DateTimeFormat>();

export function pageLang(locale: Locale): PageLang {
  let format = formatters.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, {
      dateStyle: 'medium',
      timeStyle: 'medium',
      timeZone: 'UTC',
    });
    formatters.set(locale, format);
  }
  const f = format;
  return { locale, t: CATALOGS[locale], dateTime: (at) => `${f.format(at)} UTC` };
}
