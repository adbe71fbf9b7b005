import { z } from '@hono/zod-openapi';
import {
  CODE_TTL_MS,
  type Locale,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  RESEND_COOLDOWN_MS,
  TRUSTED_DEVICE_DAYS,
} from '@twofa/core';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { documentPage, html } from './docs.ts';
import { langOf } from './lang.ts';
import { Layout } from './layout.tsx';
import { loadOrganization } from './login.tsx';
import { render } from './render.ts';

const MINUTES = CODE_TTL_MS / 60_000;
const COOLDOWN_S = RESEND_COOLDOWN_MS / 1000;
const MORE_SENDS = MAX_SENDS_PER_CHALLENGE - 1;

interface HelpSection {
  /** The anchor, the same in every language. */
  id: 'code' | 'no-code' | 'no-phone' | 'trust' | 'locked';
  heading: string;
  paragraphs: string[];
}

export interface HelpContent {
  title: string;
  intro: string;
  sections: HelpSection[];
  backToSignIn: string;
}

/** The staff's help page: what the code is, what to do without the phone, what "trust" means. */
export const HELP: Readonly<Record<Locale, HelpContent>> = {
  en: {
    title: 'How do I log in with two-factor authentication?',
    intro:
      'Signing in takes two steps: your password, then a code sent to your mobile phone. The code proves that it is you signing in, even if someone else learned your password.',
    sections: [
      {
        id: 'code',
        heading: 'What is the code?',
        paragraphs: [
          `After your password we send a 6-digit code by text message (SMS) to your mobile phone. Type it on the sign-in page. It works once, for ${MINUTES} minutes, and only for this sign-in.`,
          'If you ask for a new code, only the newest one works. Nobody from your clinic or from us will ever ask you for the code: do not give it to anyone.',
        ],
      },
      {
        id: 'no-code',
        heading: 'No code arrived?',
        paragraphs: [
          `A text message can take a minute. Check the number the page shows (its last digits). ${COOLDOWN_S} seconds after a code you can ask for another, up to ${MORE_SENDS} more times in one sign-in.`,
        ],
      },
      {
        id: 'no-phone',
        heading: 'What if I do not have my phone with me?',
        paragraphs: [
          'Without the phone you cannot get the code. A device you trusted earlier (see below) still signs you in without one.',
          'Otherwise ask your clinic’s administrator: they can turn two-factor authentication off for your account for a while, or correct your number if it has changed.',
        ],
      },
      {
        id: 'trust',
        heading: `What does “Trust this device for ${TRUSTED_DEVICE_DAYS} days” mean?`,
        paragraphs: [
          `Tick it on your own computer or phone, and this browser will not ask for a code for ${TRUSTED_DEVICE_DAYS} days. Do not tick it on a shared computer.`,
          'Your administrator can revoke trusted devices, for example when one is lost; the next sign-in then asks for a code again.',
        ],
      },
      {
        id: 'locked',
        heading: 'Too many wrong codes?',
        paragraphs: [
          `After ${MAX_WRONG_ATTEMPTS} wrong codes the sign-in stops: sign in again to get a new code. After many wrong codes in a row your account is locked for a day, and your administrator can unlock it sooner.`,
        ],
      },
    ],
    backToSignIn: 'Back to sign-in',
  },
  fi: {
    title: 'Miten kirjaudun kaksivaiheisella tunnistautumisella?',
    intro:
      'Kirjautuminen on kaksivaiheinen: ensin salasana, sitten matkapuhelimeesi lähetetty koodi. Koodi osoittaa, että kirjautuja olet sinä, vaikka joku muu olisi saanut tietää salasanasi.',
    sections: [
      {
        id: 'code',
        heading: 'Mikä koodi on?',
        paragraphs: [
          `Salasanan jälkeen lähetämme matkapuhelimeesi tekstiviestillä 6-numeroisen koodin. Kirjoita se kirjautumissivulle. Koodi toimii kerran, ${MINUTES} minuutin ajan ja vain tässä kirjautumisessa.`,
          'Jos pyydät uuden koodin, vain uusin toimii. Kukaan klinikaltasi tai meiltä ei koskaan kysy koodia: älä anna sitä kenellekään.',
        ],
      },
      {
        id: 'no-code',
        heading: 'Eikö koodia tullut?',
        paragraphs: [
          `Tekstiviesti voi viipyä minuutin. Tarkista sivulla näkyvä numero (sen viimeiset numerot). ${COOLDOWN_S} sekuntia koodin jälkeen voit pyytää uuden, enintään ${MORE_SENDS} kertaa yhden kirjautumisen aikana.`,
        ],
      },
      {
        id: 'no-phone',
        heading: 'Entä jos puhelin ei ole mukana?',
        paragraphs: [
          'Ilman puhelinta et saa koodia. Aiemmin luotetuksi merkitty laite (ks. alla) päästää sinut silti sisään ilman koodia.',
          'Muuten käänny klinikkasi pääkäyttäjän puoleen: hän voi poistaa kaksivaiheisen tunnistautumisen tililtäsi joksikin aikaa tai korjata numerosi, jos se on vaihtunut.',
        ],
      },
      {
        id: 'trust',
        heading: `Mitä ”Luota tähän laitteeseen ${TRUSTED_DEVICE_DAYS} päivän ajan” tarkoittaa?`,
        paragraphs: [
          `Valitse se omalla tietokoneellasi tai puhelimellasi, niin tämä selain ei kysy koodia ${TRUSTED_DEVICE_DAYS} päivään. Älä valitse sitä yhteiskäytössä olevalla tietokoneella.`,
          'Pääkäyttäjä voi perua luotetut laitteet esimerkiksi, kun laite katoaa; seuraava kirjautuminen kysyy silloin taas koodia.',
        ],
      },
      {
        id: 'locked',
        heading: 'Liian monta väärää koodia?',
        paragraphs: [
          `${MAX_WRONG_ATTEMPTS} väärän koodin jälkeen kirjautuminen pysähtyy: kirjaudu uudelleen, niin saat uuden koodin. Jos vääriä koodeja tulee monta peräkkäin, tilisi lukitaan vuorokaudeksi, ja pääkäyttäjä voi avata sen aiemmin.`,
        ],
      },
    ],
    backToSignIn: 'Takaisin kirjautumiseen',
  },
  sv: {
    title: 'Hur loggar jag in med tvåstegsverifiering?',
    intro:
      'Inloggningen har två steg: ditt lösenord och sedan en kod som skickas till din mobil. Koden visar att det är du som loggar in, även om någon annan har fått veta ditt lösenord.',
    sections: [
      {
        id: 'code',
        heading: 'Vad är koden?',
        paragraphs: [
          `Efter lösenordet skickar vi en sexsiffrig kod via sms till din mobil. Skriv in den på inloggningssidan. Den fungerar en gång, i ${MINUTES} minuter och bara för den här inloggningen.`,
          'Om du ber om en ny kod fungerar bara den senaste. Ingen från din klinik eller från oss ber dig någonsin om koden: ge den inte till någon.',
        ],
      },
      {
        id: 'no-code',
        heading: 'Kom ingen kod?',
        paragraphs: [
          `Ett sms kan ta en minut. Kontrollera numret som sidan visar (de sista siffrorna). ${COOLDOWN_S} sekunder efter en kod kan du be om en ny, högst ${MORE_SENDS} gånger till under en inloggning.`,
        ],
      },
      {
        id: 'no-phone',
        heading: 'Vad gör jag om jag inte har telefonen med mig?',
        paragraphs: [
          'Utan telefonen kan du inte få koden. En enhet som du tidigare har litat på (se nedan) loggar ändå in dig utan kod.',
          'Annars kan du vända dig till klinikens administratör: hen kan stänga av tvåstegsverifiering för ditt konto en tid, eller rätta ditt nummer om det har ändrats.',
        ],
      },
      {
        id: 'trust',
        heading: `Vad betyder ”Lita på den här enheten i ${TRUSTED_DEVICE_DAYS} dagar”?`,
        paragraphs: [
          `Kryssa i det på din egen dator eller telefon, så ber den här webbläsaren inte om någon kod på ${TRUSTED_DEVICE_DAYS} dagar. Kryssa inte i det på en delad dator.`,
          'Din administratör kan återkalla betrodda enheter, till exempel när en enhet har försvunnit; nästa inloggning ber då om en kod igen.',
        ],
      },
      {
        id: 'locked',
        heading: 'För många felaktiga koder?',
        paragraphs: [
          `Efter ${MAX_WRONG_ATTEMPTS} felaktiga koder avbryts inloggningen: logga in igen för att få en ny kod. Efter många felaktiga koder i rad låses ditt konto i ett dygn, och din administratör kan låsa upp det tidigare.`,
        ],
      },
    ],
    backToSignIn: 'Tillbaka till inloggningen',
  },
};

export const helpPages = new Hono<AppEnv>();

/** `/help?org=happy-paws`: in the organization's language, else the browser's. */
helpPages.get('/help', async (c) => {
  const org = await loadOrganization(c, c.req.query('org'));
  const lang = langOf(c, org);
  const help = HELP[lang.locale];
  return render(
    c,
    <Layout lang={lang} title={help.title}>
      <article class="card help">
        <h1>{help.title}</h1>
        <p>{help.intro}</p>
        {help.sections.map((section) => (
          <section id={section.id} aria-labelledby={`${section.id}-heading`}>
            <h2 id={`${section.id}-heading`}>{section.heading}</h2>
            {section.paragraphs.map((text) => (
              <p>{text}</p>
            ))}
          </section>
        ))}
        <p>
          <a href={org ? `/login?org=${org.row.slug}` : '/login'}>{help.backToSignIn}</a>
        </p>
      </article>
    </Layout>,
  );
});

documentPage(
  'get',
  '/help',
  'helpPage',
  'Help for staff: how to log in with two-factor authentication',
  { 200: html('The help page, in the organization’s language (`org`) or the browser’s') },
  {
    query: z.object({
      org: z.string().optional().openapi({ description: 'organization id or slug' }),
    }),
  },
);
