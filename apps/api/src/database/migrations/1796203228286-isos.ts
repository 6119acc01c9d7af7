import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The provider's ISO library (like images: where nodes fetch it, its checksum) and the ISO a server has attached. */
export class Isos1796203228286 implements MigrationInterface {
  name = 'Isos1796203228286';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE isos (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(120) NOT NULL UNIQUE,
        url text NOT NULL,
        sha256 char(64) NOT NULL CHECK (sha256 ~ '^[a-f0-9]{64}$'),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE servers ADD COLUMN iso_id uuid REFERENCES isos(id) ON DELETE RESTRICT`);
    await q.query(`CREATE INDEX servers_iso_idx ON servers (iso_id) WHERE iso_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE servers DROP COLUMN IF EXISTS iso_id`);
    await q.query(`DROP TABLE IF EXISTS isos`);
  }
}
