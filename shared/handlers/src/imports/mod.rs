//! The bulk import of the manufacturer registry: a CSV or XLSX file of manufacturers, one
//! row each, becomes an import job. The API reads and checks the whole file at once
//! (`sheet`, `columns`, `check`), stores the import with its report of bad rows, and queues
//! the good rows in chunks on the events queue (`chunks`); the fan-out workers upsert each
//! chunk's rows by FSSAI number and record the chunk's outcomes once, so that progress is
//! read off the chunks recorded (`progress`). A dry run checks the file and plans each row's
//! upsert without writing anything.

pub mod check;
pub mod chunks;
pub mod columns;
pub mod report;
pub mod sheet;
pub mod template;
pub mod upsert;
