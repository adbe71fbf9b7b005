import type { LedgerReason, Locale, Role } from '@twofa/core';
import { FACTOR_MESSAGES, type FactorMessages } from './factor-messages.ts';

/**
 * Every text the pages show, in each of the contract's locales. `en`, `fi` and
 * `sv` are typed by `Messages`, so a key missing in one of them fails the
 * type-check; texts with values are functions of them.
 */
export interface Messages extends FactorMessages {
  brand: string;
  titleSuffix: string;
  // layout
  mainNav: string;
  navAccount: string;
  navPasswordSettings: string;
  navUsers: string;
  navSubscription: string;
  navAudit: string;
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
  errGeneric: string;
  // closed challenge
  signInStopped: string;
  startAgain: string;
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
}

/** `one` or `other` by the locale's plural rules (the CLDR categories these three languages use). */
function plural(locale: Locale, n: number, forms: { one: string; other: string }): string {
  return new Intl.PluralRules(locale).select(n) === 'one' ? forms.one : forms.other;
}

const en: Messages = {
  ...FACTOR_MESSAGES.en,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Main',
  navAccount: 'Account',
  navPasswordSettings: 'Password settings',
  navUsers: 'Users',
  navSubscription: 'Subscription',
  navAudit: 'Audit log',
  forbiddenTitle: 'Forbidden',
  forbiddenCsrf:
    "This form was not sent from this site's page, or the page is too old. Go back, reload it and try again.",
  forbiddenSettings: "Only the organization's administrators can open the settings.",
  signInTitle: 'Sign in',
  signInTo: (organization) => `Sign in to ${organization}`,
  organizationId: 'Organization ID',
  email: 'Email',
  password: 'Password',
  signInButton: 'Sign in',
  noSuchOrganization: 'No organization has that ID. Check the sign-in link you were given.',
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
  errGeneric: 'Something went wrong. Try again.',
  signInStopped: 'Sign-in stopped',
  startAgain: 'Start again',
  closedExpired: 'The code has expired. Sign in again to get a new one.',
  closedLocked: 'Too many wrong codes: this sign-in is locked. Sign in again to get a new code.',
  closedCanceled:
    'This sign-in was canceled (the phone number or password changed). Sign in again.',
  closedApproved: 'This code was already used. Sign in again.',
  closedBalance:
    "We could not send the code: the organization's SMS credit has run out. Contact your administrator.",
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
  adminOfLink: 'password settings',
  logOut: 'Log out',
  passwordSettingsTitle: 'Password settings',
  settingsSaved: 'Settings saved.',
  nothingSaved: 'Nothing was saved: fix the entries marked below.',
  twoFactorHeading: 'Two-factor authentication',
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
};

const fi: Messages = {
  ...FACTOR_MESSAGES.fi,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Päävalikko',
  navAccount: 'Tili',
  navPasswordSettings: 'Salasana-asetukset',
  navUsers: 'Käyttäjät',
  navSubscription: 'Tilaus',
  navAudit: 'Tapahtumaloki',
  forbiddenTitle: 'Ei käyttöoikeutta',
  forbiddenCsrf:
    'Lomaketta ei lähetetty tämän sivuston sivulta, tai sivu on liian vanha. Palaa takaisin, lataa sivu uudelleen ja yritä uudestaan.',
  forbiddenSettings: 'Vain organisaation pääkäyttäjät voivat avata asetukset.',
  signInTitle: 'Kirjaudu sisään',
  signInTo: (organization) => `Kirjaudu sisään: ${organization}`,
  organizationId: 'Organisaation tunnus',
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
  errGeneric: 'Jokin meni vikaan. Yritä uudelleen.',
  signInStopped: 'Kirjautuminen keskeytyi',
  startAgain: 'Aloita alusta',
  closedExpired: 'Koodi on vanhentunut. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  closedLocked:
    'Liian monta väärää koodia: tämä kirjautuminen on lukittu. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
  closedCanceled:
    'Tämä kirjautuminen peruttiin (puhelinnumero tai salasana vaihtui). Kirjaudu sisään uudelleen.',
  closedApproved: 'Tämä koodi on jo käytetty. Kirjaudu sisään uudelleen.',
  closedBalance:
    'Emme voineet lähettää koodia: organisaation tekstiviestisaldo on loppunut. Ota yhteyttä pääkäyttäjään.',
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
  adminOfLink: 'salasana-asetukset',
  logOut: 'Kirjaudu ulos',
  passwordSettingsTitle: 'Salasana-asetukset',
  settingsSaved: 'Asetukset tallennettiin.',
  nothingSaved: 'Mitään ei tallennettu: korjaa alla merkityt kohdat.',
  twoFactorHeading: 'Kaksivaiheinen tunnistautuminen',
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
};

const sv: Messages = {
  ...FACTOR_MESSAGES.sv,
  brand: 'twofa',
  titleSuffix: 'twofa',
  mainNav: 'Huvudmeny',
  navAccount: 'Konto',
  navPasswordSettings: 'Lösenordsinställningar',
  navUsers: 'Användare',
  navSubscription: 'Abonnemang',
  navAudit: 'Händelselogg',
  forbiddenTitle: 'Åtkomst nekad',
  forbiddenCsrf:
    'Formuläret skickades inte från den här webbplatsens sida, eller så är sidan för gammal. Gå tillbaka, ladda om sidan och försök igen.',
  forbiddenSettings: 'Endast organisationens administratörer kan öppna inställningarna.',
  signInTitle: 'Logga in',
  signInTo: (organization) => `Logga in på ${organization}`,
  organizationId: 'Organisationens ID',
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
  errGeneric: 'Något gick fel. Försök igen.',
  signInStopped: 'Inloggningen avbröts',
  startAgain: 'Börja om',
  closedExpired: 'Koden har gått ut. Logga in igen för att få en ny.',
  closedLocked:
    'För många felaktiga koder: den här inloggningen är låst. Logga in igen för att få en ny kod.',
  closedCanceled:
    'Den här inloggningen avbröts (telefonnumret eller lösenordet ändrades). Logga in igen.',
  closedApproved: 'Den här koden har redan använts. Logga in igen.',
  closedBalance:
    'Vi kunde inte skicka koden: organisationens sms-saldo är slut. Kontakta din administratör.',
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
  adminOfLink: 'lösenordsinställningar',
  logOut: 'Logga ut',
  passwordSettingsTitle: 'Lösenordsinställningar',
  settingsSaved: 'Inställningarna har sparats.',
  nothingSaved: 'Inget sparades: rätta de markerade uppgifterna nedan.',
  twoFactorHeading: 'Tvåstegsverifiering',
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
