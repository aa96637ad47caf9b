import { JournalInitial1795392000000 } from './1795392000000-journal-initial.migration';

/** Every journal migration, oldest first. Append new ones; never edit one that has shipped. */
export const JOURNAL_MIGRATIONS = [JournalInitial1795392000000];
