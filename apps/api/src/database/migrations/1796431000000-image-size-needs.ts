import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an image needs of a plan (issue 13): staff's minimum disk and memory, and the disk size a guest made from it
 * sees (`virtual_size_bytes`, qemu-img's virtual-size as the node that verified it reported it, for the image's
 * current sha256; NULL until a node has). An order, a rebuild or a resize whose plan is smaller is refused by the
 * API, naming both sizes, instead of failing on the node.
 */
export class ImageSizeNeeds1796431000000 implements MigrationInterface {
  name = 'ImageSizeNeeds1796431000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images ADD COLUMN min_disk_gib integer NOT NULL DEFAULT 0, ADD COLUMN min_memory_mib integer NOT NULL DEFAULT 0, ADD COLUMN virtual_size_bytes bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE images DROP COLUMN min_disk_gib, DROP COLUMN min_memory_mib, DROP COLUMN virtual_size_bytes`);
  }
}
