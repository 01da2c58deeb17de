/**
 * drizzle-kit configuration: `npx drizzle-kit generate` (cwd storage-node) turns
 * src/db/schema.ts into SQL migrations under drizzle/, which are committed and run unchanged on
 * Postgres and PGlite by `openDatabase` (src/db). Never use `drizzle-kit push`: the committed SQL
 * is the only schema history.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
