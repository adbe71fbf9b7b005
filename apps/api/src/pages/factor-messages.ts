import type { Locale } from '@twofa/core';

/**
 * The texts of the second factors besides SMS (authenticator app, backup
 * codes, the admin's reset, the allowed methods), in every locale. Part of
 * `Messages`: each catalog there spreads its locale's entry of this one.
 */
export interface FactorMessages {
  // account: authenticator app
  factorsHeading: string;
  totpHeading: string;
  totpOn: string;
  totpOff: string;
  totpSetUp: string;
  totpSetUpTitle: string;
  totpScan: string;
  totpManual: string;
  totpQrLabel: string;
  totpConfirmLabel: string;
  totpConfirmHelp: string;
  totpConfirm: string;
  totpEnabled: string;
  totpWrong: string;
  totpRemove: string;
  totpRemoved: string;
  totpNotAllowed: string;
  totpAlreadyOn: string;
  cancel: string;
  // account: backup codes
  backupHeading: string;
  backupRemaining: (n: number) => string;
  backupNone: string;
  backupCreate: string;
  backupNewHeading: string;
  backupShownOnce: string;
  backupDownload: string;
  backupPrint: string;
  backupDone: string;
  backupFileIntro: (organization: string, email: string) => string;
  backupOfferHeading: string;
  backupOfferText: string;
  backupOfferSkip: string;
  // the code step's other ways
  totpCodeIntro: string;
  appAlsoWorks: string;
  otherWays: string;
  useApp: string;
  useBackupCode: string;
  textMeInstead: string;
  backupCodeTitle: string;
  backupCodeIntro: string;
  backupCodeLabel: string;
  backupCodeHelp: string;
  wrongBackupCode: (attemptsLeft: number) => string;
  errMethodNotAllowed: string;
  // settings
  resetFactors: string;
  noticeFactorsReset: string;
  methodsHeading: string;
  methodsHelp: string;
  methodSms: string;
  methodTotp: string;
  methodBackupCode: string;
  errMethodsEmpty: string;
}

const en: FactorMessages = {
  factorsHeading: 'Two-step sign-in',
  totpHeading: 'Authenticator app',
  totpOn: 'An authenticator app is set up: sign-ins ask for its code, and no text message is sent.',
  totpOff:
    'An authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password) gives you codes without signal, abroad too.',
  totpSetUp: 'Set up an authenticator app',
  totpSetUpTitle: 'Set up your authenticator app',
  totpScan: 'Scan this QR code with your authenticator app.',
  totpManual: 'Cannot scan it? Type this key into the app instead:',
  totpQrLabel: 'QR code to add this account to an authenticator app',
  totpConfirmLabel: 'Code from the app',
  totpConfirmHelp: 'Enter the 6-digit code the app shows now, to confirm it works.',
  totpConfirm: 'Confirm',
  totpEnabled: 'Your authenticator app is set up.',
  totpWrong: 'That code is wrong. Check that the time on your phone is right and try again.',
  totpRemove: 'Remove the authenticator app',
  totpRemoved: 'The authenticator app was removed.',
  totpNotAllowed: 'Your organization does not allow authenticator apps.',
  totpAlreadyOn: 'An authenticator app is already set up. Remove it first to set up another.',
  cancel: 'Cancel',
  backupHeading: 'Backup codes',
  backupRemaining: (n) =>
    n === 1 ? '1 unused backup code left.' : `${n} unused backup codes left.`,
  backupNone:
    'You have no backup codes. Each one lets you sign in once when you cannot get a code any other way.',
  backupCreate: 'Create new backup codes',
  backupNewHeading: 'Your new backup codes',
  backupShownOnce:
    'Keep these somewhere safe: they are shown only now. Each works once, and any earlier codes no longer work.',
  backupDownload: 'Download as a text file',
  backupPrint: 'Print',
  backupDone: 'I have saved them',
  backupFileIntro: (organization, email) =>
    `Backup codes for ${email} at ${organization}. Each code works once.`,
  backupOfferHeading: 'Get backup codes?',
  backupOfferText:
    'If your phone is lost or out of signal, a backup code still lets you sign in. It takes a moment.',
  backupOfferSkip: 'Not now',
  totpCodeIntro: 'Enter the 6-digit code from your authenticator app.',
  appAlsoWorks: 'The code from your authenticator app works too.',
  otherWays: 'Other ways to sign in',
  useApp: 'Use your authenticator app',
  useBackupCode: 'Use a backup code',
  textMeInstead: 'Text me a code instead',
  backupCodeTitle: 'Enter a backup code',
  backupCodeIntro: 'Enter one of your backup codes. Each one works once.',
  backupCodeLabel: 'Backup code',
  backupCodeHelp: 'Capital or small letters, spaces and dashes make no difference.',
  wrongBackupCode: (n) =>
    `That backup code is wrong or already used. ${n === 1 ? '1 attempt' : `${n} attempts`} left.`,
  errMethodNotAllowed: 'Your organization does not allow this way of signing in.',
  resetFactors: 'Reset second factors',
  noticeFactorsReset:
    'Second factors reset: phone, authenticator app, backup codes and trusted devices are cleared, and the user is signed out.',
  methodsHeading: 'Ways to sign in',
  methodsHelp: 'What your people may use for the second step. Choose at least one.',
  methodSms: 'Text message (SMS)',
  methodTotp: 'Authenticator app',
  methodBackupCode: 'Backup codes',
  errMethodsEmpty: 'Choose at least one way to sign in.',
};

const fi: FactorMessages = {
  factorsHeading: 'Kaksivaiheinen kirjautuminen',
  totpHeading: 'Todennussovellus',
  totpOn:
    'Todennussovellus on käytössä: kirjautuminen kysyy sen koodia, eikä tekstiviestiä lähetetä.',
  totpOff:
    'Todennussovellus (esimerkiksi Google Authenticator, Microsoft Authenticator tai 1Password) antaa koodit ilman kenttää, myös ulkomailla.',
  totpSetUp: 'Ota todennussovellus käyttöön',
  totpSetUpTitle: 'Ota todennussovellus käyttöön',
  totpScan: 'Skannaa tämä QR-koodi todennussovelluksellasi.',
  totpManual: 'Eikö skannaus onnistu? Kirjoita tämä avain sovellukseen:',
  totpQrLabel: 'QR-koodi tilin lisäämiseksi todennussovellukseen',
  totpConfirmLabel: 'Sovelluksen koodi',
  totpConfirmHelp: 'Anna sovelluksen nyt näyttämä 6-numeroinen koodi, niin näemme että se toimii.',
  totpConfirm: 'Vahvista',
  totpEnabled: 'Todennussovellus on otettu käyttöön.',
  totpWrong: 'Koodi on väärä. Tarkista, että puhelimesi kello on oikeassa, ja yritä uudelleen.',
  totpRemove: 'Poista todennussovellus',
  totpRemoved: 'Todennussovellus poistettiin.',
  totpNotAllowed: 'Organisaatiosi ei salli todennussovelluksia.',
  totpAlreadyOn: 'Todennussovellus on jo käytössä. Poista se ensin, jos haluat ottaa toisen.',
  cancel: 'Peruuta',
  backupHeading: 'Varakoodit',
  backupRemaining: (n) =>
    n === 1 ? '1 käyttämätön varakoodi jäljellä.' : `${n} käyttämätöntä varakoodia jäljellä.`,
  backupNone:
    'Sinulla ei ole varakoodeja. Kullakin pääset kirjautumaan kerran, kun koodia ei saa muuten.',
  backupCreate: 'Luo uudet varakoodit',
  backupNewHeading: 'Uudet varakoodisi',
  backupShownOnce:
    'Säilytä nämä turvallisessa paikassa: ne näytetään vain nyt. Kukin toimii kerran, eivätkä aiemmat koodit enää toimi.',
  backupDownload: 'Lataa tekstitiedostona',
  backupPrint: 'Tulosta',
  backupDone: 'Olen tallentanut ne',
  backupFileIntro: (organization, email) =>
    `Varakoodit käyttäjälle ${email} (${organization}). Kukin koodi toimii kerran.`,
  backupOfferHeading: 'Haluatko varakoodit?',
  backupOfferText:
    'Jos puhelin katoaa tai kenttää ei ole, varakoodilla pääset silti kirjautumaan. Se vie hetken.',
  backupOfferSkip: 'Ei nyt',
  totpCodeIntro: 'Anna todennussovelluksesi 6-numeroinen koodi.',
  appAlsoWorks: 'Myös todennussovelluksesi koodi kelpaa.',
  otherWays: 'Muita tapoja kirjautua',
  useApp: 'Käytä todennussovellusta',
  useBackupCode: 'Käytä varakoodia',
  textMeInstead: 'Lähetä koodi tekstiviestillä',
  backupCodeTitle: 'Anna varakoodi',
  backupCodeIntro: 'Anna yksi varakoodeistasi. Kukin toimii kerran.',
  backupCodeLabel: 'Varakoodi',
  backupCodeHelp: 'Isoilla ja pienillä kirjaimilla, välilyönneillä ja viivoilla ei ole väliä.',
  wrongBackupCode: (n) =>
    `Varakoodi on väärä tai jo käytetty. ${n === 1 ? '1 yritys' : `${n} yritystä`} jäljellä.`,
  errMethodNotAllowed: 'Organisaatiosi ei salli tätä kirjautumistapaa.',
  resetFactors: 'Nollaa tunnistustavat',
  noticeFactorsReset:
    'Tunnistustavat nollattiin: puhelinnumero, todennussovellus, varakoodit ja luotetut laitteet poistettiin, ja käyttäjä kirjattiin ulos.',
  methodsHeading: 'Kirjautumistavat',
  methodsHelp: 'Mitä käyttäjät saavat käyttää toisessa vaiheessa. Valitse vähintään yksi.',
  methodSms: 'Tekstiviesti (SMS)',
  methodTotp: 'Todennussovellus',
  methodBackupCode: 'Varakoodit',
  errMethodsEmpty: 'Valitse vähintään yksi kirjautumistapa.',
};

const sv: FactorMessages = {
  factorsHeading: 'Inloggning i två steg',
  totpHeading: 'Autentiseringsapp',
  totpOn: 'En autentiseringsapp används: inloggningen frågar efter dess kod och inget sms skickas.',
  totpOff:
    'En autentiseringsapp (till exempel Google Authenticator, Microsoft Authenticator eller 1Password) ger dig koder utan täckning, även utomlands.',
  totpSetUp: 'Konfigurera en autentiseringsapp',
  totpSetUpTitle: 'Konfigurera din autentiseringsapp',
  totpScan: 'Skanna den här QR-koden med din autentiseringsapp.',
  totpManual: 'Går det inte att skanna? Skriv in den här nyckeln i appen:',
  totpQrLabel: 'QR-kod för att lägga till kontot i en autentiseringsapp',
  totpConfirmLabel: 'Kod från appen',
  totpConfirmHelp: 'Ange den sexsiffriga kod som appen visar nu, så ser vi att den fungerar.',
  totpConfirm: 'Bekräfta',
  totpEnabled: 'Din autentiseringsapp är konfigurerad.',
  totpWrong: 'Koden är fel. Kontrollera att klockan i telefonen går rätt och försök igen.',
  totpRemove: 'Ta bort autentiseringsappen',
  totpRemoved: 'Autentiseringsappen togs bort.',
  totpNotAllowed: 'Din organisation tillåter inte autentiseringsappar.',
  totpAlreadyOn:
    'En autentiseringsapp används redan. Ta bort den först för att lägga till en annan.',
  cancel: 'Avbryt',
  backupHeading: 'Reservkoder',
  backupRemaining: (n) =>
    n === 1 ? '1 oanvänd reservkod kvar.' : `${n} oanvända reservkoder kvar.`,
  backupNone:
    'Du har inga reservkoder. Med var och en kan du logga in en gång när du inte får någon kod på annat sätt.',
  backupCreate: 'Skapa nya reservkoder',
  backupNewHeading: 'Dina nya reservkoder',
  backupShownOnce:
    'Förvara dem säkert: de visas bara nu. Var och en fungerar en gång, och tidigare koder slutar fungera.',
  backupDownload: 'Ladda ner som textfil',
  backupPrint: 'Skriv ut',
  backupDone: 'Jag har sparat dem',
  backupFileIntro: (organization, email) =>
    `Reservkoder för ${email} hos ${organization}. Varje kod fungerar en gång.`,
  backupOfferHeading: 'Vill du ha reservkoder?',
  backupOfferText:
    'Om telefonen försvinner eller saknar täckning kan du ändå logga in med en reservkod. Det tar en stund.',
  backupOfferSkip: 'Inte nu',
  totpCodeIntro: 'Ange den sexsiffriga koden från din autentiseringsapp.',
  appAlsoWorks: 'Koden från din autentiseringsapp fungerar också.',
  otherWays: 'Andra sätt att logga in',
  useApp: 'Använd din autentiseringsapp',
  useBackupCode: 'Använd en reservkod',
  textMeInstead: 'Skicka en kod med sms i stället',
  backupCodeTitle: 'Ange en reservkod',
  backupCodeIntro: 'Ange en av dina reservkoder. Var och en fungerar en gång.',
  backupCodeLabel: 'Reservkod',
  backupCodeHelp: 'Stora eller små bokstäver, mellanslag och bindestreck spelar ingen roll.',
  wrongBackupCode: (n) => `Reservkoden är fel eller redan använd. ${n} försök kvar.`,
  errMethodNotAllowed: 'Din organisation tillåter inte det här sättet att logga in.',
  resetFactors: 'Återställ inloggningsmetoder',
  noticeFactorsReset:
    'Inloggningsmetoderna återställdes: telefonnummer, autentiseringsapp, reservkoder och betrodda enheter är borttagna, och användaren är utloggad.',
  methodsHeading: 'Sätt att logga in',
  methodsHelp: 'Vad användarna får använda i det andra steget. Välj minst ett.',
  methodSms: 'Sms',
  methodTotp: 'Autentiseringsapp',
  methodBackupCode: 'Reservkoder',
  errMethodsEmpty: 'Välj minst ett sätt att logga in.',
};

export const FACTOR_MESSAGES: Readonly<Record<Locale, FactorMessages>> = { en, fi, sv };
