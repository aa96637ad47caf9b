import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { JOURNAL_ENTRY_TABLE, JOURNAL_ROW_TABLE, journalColumnTypes } from '../journal.entities';

/** Creates `journal_entry` (one row per NB transaction) and `journal_row` (the NB rows it touched). */
export class JournalInitial1795392000000 implements MigrationInterface {
  name = 'JournalInitial1795392000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = journalColumnTypes(queryRunner.connection.options.type === 'postgres' ? 'postgres' : 'sqlite');
    const id = { name: 'id', type: t.id, isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    await queryRunner.createTable(
      new Table({
        name: JOURNAL_ENTRY_TABLE,
        columns: [
          id,
          { name: 'at', type: t.time },
          { name: 'owner_kind', type: 'varchar', length: '63' },
          { name: 'owner_namespace', type: 'varchar', length: '253' },
          { name: 'owner_name', type: 'varchar', length: '253' },
          { name: 'reason', type: 'varchar', length: '255' },
          { name: 'latency_ms', type: t.float },
          { name: 'op_count', type: 'integer' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_journal_entry_at', columnNames: ['at'] }),
          new TableIndex({
            name: 'IDX_journal_entry_owner_at',
            columnNames: ['owner_kind', 'owner_namespace', 'owner_name', 'at'],
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: JOURNAL_ROW_TABLE,
        columns: [
          id,
          { name: 'entry_id', type: t.id },
          { name: 'table_name', type: 'varchar', length: '63' },
          { name: 'row_key', type: 'varchar', length: '255' },
          { name: 'operation', type: 'varchar', length: '6' },
          { name: 'columns', type: 'varchar', length: '1024', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'IDX_journal_row_entry', columnNames: ['entry_id'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_journal_row_entry',
            columnNames: ['entry_id'],
            referencedTableName: JOURNAL_ENTRY_TABLE,
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable(JOURNAL_ROW_TABLE);
    await queryRunner.dropTable(JOURNAL_ENTRY_TABLE);
  }
}
