import { prepareTemplateDatabase } from '@twofa/testing';

export default async function setup(): Promise<void> {
  await prepareTemplateDatabase();
}
