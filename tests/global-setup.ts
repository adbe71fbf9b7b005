import { prepareTemplateDatabase } from './support/database.ts';

export default async function setup(): Promise<void> {
  await prepareTemplateDatabase();
}
