//! Bulk imports: the import (`IMPORT#id` / `IMPORT`) and its recorded chunks in the same
//! partition (`IMPORT#id` / `CHUNK#nnnnnn`, the number zero-padded so that the sort key
//! orders them), read back by one strongly consistent `Query` of the table's own key. Each
//! is put only if absent: a chunk is recorded once.

use async_trait::async_trait;
use hookline_domain::{Import, ImportChunk, ImportId};
use hookline_ports::{ImportStore, PortError};
use serde::Serialize;

use super::DynamoStore;
use super::item::{Item, body, from_body, s};
use super::ops::Must;
use super::partition::SortKeys;
use super::schema::{BODY, PK, SK};

/// Sort key of an import item.
const IMPORT_SK: &str = "IMPORT";
/// Sort-key prefix of its chunks.
const CHUNK_PREFIX: &str = "CHUNK#";

fn import_pk(id: &str) -> String {
    format!("IMPORT#{id}")
}

fn chunk_sk(n: u32) -> String {
    format!("{CHUNK_PREFIX}{n:06}")
}

fn item<T: Serialize>(op: &str, pk: String, sk: String, value: &T) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(pk)),
        (SK.to_string(), s(sk)),
        (BODY.to_string(), body(op, value)?),
    ]))
}

#[async_trait]
impl ImportStore for DynamoStore {
    async fn insert_import(&self, import: &Import) -> Result<(), PortError> {
        const OP: &str = "insert_import";
        let pk = import_pk(&import.id);
        let it = item(OP, pk, IMPORT_SK.to_string(), import)?;
        match self.put_item(OP, it, Must::BeAbsent).await? {
            true => Ok(()),
            false => Err(PortError::Conflict("import id already exists".to_string())),
        }
    }

    async fn get_import(&self, id: &ImportId) -> Result<Option<Import>, PortError> {
        const OP: &str = "get_import";
        let found = self.get_item(OP, import_pk(id), IMPORT_SK).await?;
        found.map(|i| from_body(OP, &i)).transpose()
    }

    async fn record_import_chunk(
        &self,
        import: &ImportId,
        chunk: &ImportChunk,
    ) -> Result<bool, PortError> {
        const OP: &str = "record_import_chunk";
        let it = item(OP, import_pk(import), chunk_sk(chunk.chunk), chunk)?;
        self.put_item(OP, it, Must::BeAbsent).await
    }

    async fn list_import_chunks(&self, import: &ImportId) -> Result<Vec<ImportChunk>, PortError> {
        const OP: &str = "list_import_chunks";
        let pk = import_pk(import);
        let sort = SortKeys::Prefix(CHUNK_PREFIX.to_string());
        let mut chunks = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .query_partition(OP, &pk, &sort, None, false, start)
                .await?;
            for it in &page.items {
                chunks.push(from_body(OP, it)?);
            }
            match page.next {
                Some(k) => start = Some(k),
                None => return Ok(chunks),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_sort_by_number() {
        let keys: Vec<String> = [0, 9, 10, 99, 100, 999_999].map(chunk_sk).to_vec();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }
}
