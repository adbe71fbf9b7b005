import type { Locale } from '@twofa/core';

/**
 * The texts that tell a person where they stand and what they can do: the wait
 * before another code, a code replaced by a newer one, the way back from a
 * step, who to call when sign-in is stopped, the SMS balance on the admin
 * pages, and the audit log in words. Part of `Messages` (see messages.ts).
 */
export interface GuidanceMessages {
  // layout
  footerHelp: string;
  footerLabel: string;
  // login
  organizationHelp: string;
  // code and phone steps
  resendWait: (seconds: number) => string;
  resendReady: string;
  codeReplaced: (attemptsLeft: number) => string;
  useAnotherAccount: string;
  wrongNumber: string;
  wrongNumberStartAgain: string;
  wrongNumberAdmin: string;
  // sign-in stopped
  stoppedWhoToCall: string;
  stoppedNoAdmins: string;
  stoppedYouAdminister: string;
  // the balance on every admin page
  balanceOut: string;
  balanceLow: (credits: number, threshold: number) => string;
  balanceLink: string;
  outOfCredits: string;
  // turning 2FA on
  twoFactorCreditHelp: string;
  noCreditWarning: string;
  confirmNoCredit: string;
  confirmNoCreditNeeded: string;
  // audit log
  byPlatform: string;
  byApiKey: string;
  bySystem: string;
  byUser: string;
  byRemovedUser: string;
  auditFor: (who: string) => string;
  auditFields: Record<string, string>;
  on: string;
  off: string;
  none: string;
  signInMethods: Record<string, string>;
  auditMethod: (method: string) => string;
  auditCredits: (amount: number, balance: number) => string;
  auditBalance: (balance: number) => string;
  auditDevicesRevoked: (n: number) => string;
  auditLockedUntil: (until: string) => string;
  auditSignedIn: string;
}

const en: GuidanceMessages = {
  footerHelp: 'Help with signing in',
  footerLabel: 'Help',
  organizationHelp:
    'The short name after “org=” in your sign-in link, e.g. happy-paws. Your administrator can give it to you.',
  resendWait: (s) => `You can ask for another code in ${s} ${s === 1 ? 'second' : 'seconds'}.`,
  resendReady: 'You can ask for another code now.',
  codeReplaced: (n) =>
    `That code was replaced by a newer one: enter the code from the latest message. ${n} ${n === 1 ? 'attempt' : 'attempts'} left.`,
  useAnotherAccount: 'Use another account',
  wrongNumber: 'Wrong number?',
  wrongNumberStartAgain: 'Start again and enter another one.',
  wrongNumberAdmin: 'Your administrator can correct the number on your profile.',
  stoppedWhoToCall: 'Ask your administrator to add SMS credit:',
  stoppedNoAdmins: 'Ask your organization’s administrator to add SMS credit.',
  stoppedYouAdminister:
    'You administer this organization: ask your provider of the sign-in service to add SMS credit. A device you trusted, or a network that skips the code, still signs you in.',
  balanceOut:
    'Out of SMS credit: no sign-in code can be sent, so everyone who needs one is stopped at sign-in, administrators too.',
  balanceLow: (n, threshold) =>
    `SMS credit is low: ${n} ${n === 1 ? 'credit' : 'credits'} left (the warning starts below ${threshold}). When it runs out no code is sent, and people who need one cannot sign in.`,
  balanceLink: 'See the balance',
  outOfCredits:
    'The balance is used up: no codes are sent, and users who need one cannot finish signing in. Contact your provider to add credits.',
  twoFactorCreditHelp:
    'Each code sent costs one SMS credit. When the credit runs out no code can be sent, and everyone who needs one is stopped at sign-in, administrators too; trusted devices and networks that skip the code still sign in.',
  noCreditWarning:
    'Your organization has no SMS credit. Turned on now, two-factor authentication would stop everyone at their next sign-in, you included. Add credit first.',
  confirmNoCredit: 'Turn it on anyway: I understand that nobody can sign in until credit is added',
  confirmNoCreditNeeded:
    'Nothing was saved: with no SMS credit, turning two-factor authentication on needs your confirmation below.',
  byPlatform: 'Service provider',
  byApiKey: 'Your app (API key)',
  bySystem: 'System',
  byUser: 'The user',
  byRemovedUser: 'A removed user',
  auditFor: (who) => `For ${who}`,
  auditFields: {
    twoFactorEnabled: 'Two-factor authentication',
    skipTwoFactorCidrs: 'Networks that skip the code',
    smsAllowedCountries: 'Countries codes may be sent to',
    authMethod: 'Sign-in method',
    name: 'Name',
    locale: 'Language',
  },
  on: 'on',
  off: 'off',
  none: '(none)',
  signInMethods: {
    sms: 'code by SMS',
    trusted_device: 'trusted device',
    trusted_network: 'network that skips the code',
    two_factor_disabled: 'two-factor authentication off',
    user_exempt: 'two-factor authentication disabled for the user',
    external_auth: 'single sign-on',
  },
  auditMethod: (method) => `Method: ${method}`,
  auditCredits: (amount, balance) => `${amount} credits added; balance ${balance}`,
  auditBalance: (balance) => `Balance ${balance}`,
  auditDevicesRevoked: (n) => `${n} ${n === 1 ? 'device' : 'devices'} revoked`,
  auditLockedUntil: (until) => `Locked until ${until}`,
  auditSignedIn: 'Signed in',
};

const fi: GuidanceMessages = {
  footerHelp: 'Ohjeita kirjautumiseen',
  footerLabel: 'Ohjeet',
  organizationHelp:
    'Kirjautumislinkkisi lyhyt nimi ”org=”-kohdan jälkeen, esim. happy-paws. Saat sen pääkäyttäjältä.',
  resendWait: (s) => `Voit pyytää uuden koodin ${s} sekunnin kuluttua.`,
  resendReady: 'Voit nyt pyytää uuden koodin.',
  codeReplaced: (n) =>
    `Koodi on korvattu uudemmalla: anna uusimman viestin koodi. ${n} ${n === 1 ? 'yritys' : 'yritystä'} jäljellä.`,
  useAnotherAccount: 'Käytä toista tiliä',
  wrongNumber: 'Väärä numero?',
  wrongNumberStartAgain: 'Aloita alusta ja anna toinen numero.',
  wrongNumberAdmin: 'Pääkäyttäjä voi korjata profiilisi numeron.',
  stoppedWhoToCall: 'Pyydä pääkäyttäjää lisäämään tekstiviestikrediittejä:',
  stoppedNoAdmins: 'Pyydä organisaatiosi pääkäyttäjää lisäämään tekstiviestikrediittejä.',
  stoppedYouAdminister:
    'Olet tämän organisaation pääkäyttäjä: pyydä kirjautumispalvelun toimittajaa lisäämään krediittejä. Luotettu laite tai verkko, josta koodia ei kysytä, päästää sinut yhä sisään.',
  balanceOut:
    'Tekstiviestikrediitit ovat loppuneet: kirjautumiskoodeja ei voi lähettää, joten kaikki koodia tarvitsevat pysähtyvät kirjautumiseen, myös pääkäyttäjät.',
  balanceLow: (n, threshold) =>
    `Tekstiviestikrediittejä on vähän: ${n} ${n === 1 ? 'krediitti' : 'krediittiä'} jäljellä (varoitus alkaa alle ${threshold}). Kun ne loppuvat, koodeja ei lähetetä eivätkä niitä tarvitsevat pääse kirjautumaan.`,
  balanceLink: 'Katso saldo',
  outOfCredits:
    'Saldo on käytetty loppuun: koodeja ei lähetetä, eivätkä niitä tarvitsevat käyttäjät pääse kirjautumaan loppuun. Pyydä palveluntarjoajaltasi lisää krediittejä.',
  twoFactorCreditHelp:
    'Jokainen lähetetty koodi maksaa yhden tekstiviestikrediitin. Kun krediitit loppuvat, koodeja ei voi lähettää, ja kaikki koodia tarvitsevat pysähtyvät kirjautumiseen, myös pääkäyttäjät; luotetut laitteet ja verkot, joista koodia ei kysytä, pääsevät yhä sisään.',
  noCreditWarning:
    'Organisaatiollasi ei ole tekstiviestikrediittejä. Jos kaksivaiheinen tunnistautuminen otetaan nyt käyttöön, kukaan ei pääse seuraavalla kerralla kirjautumaan, et sinäkään. Lisää ensin krediittejä.',
  confirmNoCredit:
    'Ota käyttöön silti: ymmärrän, ettei kukaan pääse kirjautumaan ennen kuin krediittejä lisätään',
  confirmNoCreditNeeded:
    'Mitään ei tallennettu: ilman tekstiviestikrediittejä kaksivaiheisen tunnistautumisen käyttöönotto pitää vahvistaa alla.',
  byPlatform: 'Palveluntarjoaja',
  byApiKey: 'Sovelluksenne (API-avain)',
  bySystem: 'Järjestelmä',
  byUser: 'Käyttäjä itse',
  byRemovedUser: 'Poistettu käyttäjä',
  auditFor: (who) => `Käyttäjälle ${who}`,
  auditFields: {
    twoFactorEnabled: 'Kaksivaiheinen tunnistautuminen',
    skipTwoFactorCidrs: 'Verkot, joista koodia ei kysytä',
    smsAllowedCountries: 'Maat, joihin koodeja saa lähettää',
    authMethod: 'Kirjautumistapa',
    name: 'Nimi',
    locale: 'Kieli',
  },
  on: 'päällä',
  off: 'pois',
  none: '(ei mitään)',
  signInMethods: {
    sms: 'tekstiviestikoodi',
    trusted_device: 'luotettu laite',
    trusted_network: 'verkko, josta koodia ei kysytä',
    two_factor_disabled: 'kaksivaiheinen tunnistautuminen pois päältä',
    user_exempt: 'kaksivaiheinen tunnistautuminen poistettu käyttäjältä',
    external_auth: 'kertakirjautuminen',
  },
  auditMethod: (method) => `Tapa: ${method}`,
  auditCredits: (amount, balance) => `${amount} krediittiä lisätty; saldo ${balance}`,
  auditBalance: (balance) => `Saldo ${balance}`,
  auditDevicesRevoked: (n) => `${n} ${n === 1 ? 'laite' : 'laitetta'} peruttu`,
  auditLockedUntil: (until) => `Lukittu ${until} asti`,
  auditSignedIn: 'Kirjautui sisään',
};

const sv: GuidanceMessages = {
  footerHelp: 'Hjälp med inloggningen',
  footerLabel: 'Hjälp',
  organizationHelp:
    'Det korta namnet efter ”org=” i din inloggningslänk, t.ex. happy-paws. Din administratör kan ge dig det.',
  resendWait: (s) => `Du kan be om en ny kod om ${s} ${s === 1 ? 'sekund' : 'sekunder'}.`,
  resendReady: 'Du kan be om en ny kod nu.',
  codeReplaced: (n) =>
    `Koden har ersatts av en nyare: ange koden i det senaste meddelandet. ${n} försök kvar.`,
  useAnotherAccount: 'Använd ett annat konto',
  wrongNumber: 'Fel nummer?',
  wrongNumberStartAgain: 'Börja om och ange ett annat.',
  wrongNumberAdmin: 'Din administratör kan rätta numret i din profil.',
  stoppedWhoToCall: 'Be din administratör att fylla på sms-krediter:',
  stoppedNoAdmins: 'Be organisationens administratör att fylla på sms-krediter.',
  stoppedYouAdminister:
    'Du administrerar den här organisationen: be leverantören av inloggningstjänsten att fylla på krediter. En betrodd enhet, eller ett nät som inte behöver någon kod, loggar fortfarande in dig.',
  balanceOut:
    'Sms-krediterna är slut: inga inloggningskoder kan skickas, så alla som behöver en kod stoppas vid inloggningen, även administratörer.',
  balanceLow: (n, threshold) =>
    `Sms-krediterna börjar ta slut: ${n} ${n === 1 ? 'kredit' : 'krediter'} kvar (varningen börjar under ${threshold}). När de tar slut skickas inga koder, och de som behöver en kan inte logga in.`,
  balanceLink: 'Se saldot',
  outOfCredits:
    'Saldot är förbrukat: inga koder skickas, och användare som behöver en kan inte slutföra inloggningen. Kontakta din leverantör för att fylla på krediter.',
  twoFactorCreditHelp:
    'Varje skickad kod kostar en sms-kredit. När krediterna tar slut kan ingen kod skickas, och alla som behöver en stoppas vid inloggningen, även administratörer; betrodda enheter och nät som inte behöver någon kod loggar fortfarande in.',
  noCreditWarning:
    'Din organisation har inga sms-krediter. Slås tvåstegsverifiering på nu stoppas alla vid nästa inloggning, även du. Fyll på krediter först.',
  confirmNoCredit: 'Slå på ändå: jag förstår att ingen kan logga in förrän krediter har fyllts på',
  confirmNoCreditNeeded:
    'Inget sparades: utan sms-krediter måste du bekräfta nedan för att slå på tvåstegsverifiering.',
  byPlatform: 'Tjänsteleverantören',
  byApiKey: 'Er app (API-nyckel)',
  bySystem: 'Systemet',
  byUser: 'Användaren själv',
  byRemovedUser: 'En borttagen användare',
  auditFor: (who) => `För ${who}`,
  auditFields: {
    twoFactorEnabled: 'Tvåstegsverifiering',
    skipTwoFactorCidrs: 'Nät som inte behöver någon kod',
    smsAllowedCountries: 'Länder som koder får skickas till',
    authMethod: 'Inloggningsmetod',
    name: 'Namn',
    locale: 'Språk',
  },
  on: 'på',
  off: 'av',
  none: '(inga)',
  signInMethods: {
    sms: 'kod via sms',
    trusted_device: 'betrodd enhet',
    trusted_network: 'nät som inte behöver någon kod',
    two_factor_disabled: 'tvåstegsverifiering avstängd',
    user_exempt: 'tvåstegsverifiering avstängd för användaren',
    external_auth: 'enkel inloggning',
  },
  auditMethod: (method) => `Metod: ${method}`,
  auditCredits: (amount, balance) => `${amount} krediter tillagda; saldo ${balance}`,
  auditBalance: (balance) => `Saldo ${balance}`,
  auditDevicesRevoked: (n) => `${n} ${n === 1 ? 'enhet' : 'enheter'} återkallade`,
  auditLockedUntil: (until) => `Låst till ${until}`,
  auditSignedIn: 'Loggade in',
};

export const GUIDANCE: Readonly<Record<Locale, GuidanceMessages>> = { en, fi, sv };
