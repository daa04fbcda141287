//! The sync port on the table. A resource's sources and allocations share its partition
//! `XS#owner#resource` (sort keys `SRC#reference` and `ALLOC#reference#member`), and are
//! listed through gsi1 (`…#SOURCES` by reference, `…#ALLOC#reference` by member). A sync
//! request is `SYNCREQ#id`, listed in gsi1 `…#REQUESTS` by id (time-ordered), newest first;
//! its `status` attribute is the condition of its one transition, so that of two concurrent
//! endings exactly one is written. References, resource ids and member ids have no `#`
//! (see `hookline_domain::sync::is_reference`), so the keys cannot run into each other.

use async_trait::async_trait;
use hookline_domain::{ExternalSource, SyncRequest, SyncRequestId, SyncStatus};
use hookline_ports::{PortError, ResourceKey, SyncEnd, SyncStore};

use super::DynamoStore;
use super::error::backend;
use super::item::{Item, body, from_body, names, s};
use super::ops::{Must, conditional_check_failed};
use super::query::ListQuery;
use super::schema::{BODY, GSI1, PK, SK, STATUS};

/// Sort key of a sync request item.
const SYNC_REQUEST_SK: &str = "SYNCREQ";

/// The partition of a resource's sources and allocations.
fn resource_pk(r: &ResourceKey) -> String {
    format!("XS#{}#{}", r.owner, r.resource_id)
}

fn source_sk(reference: &str) -> String {
    format!("SRC#{reference}")
}

fn allocation_sk(reference: &str, member: &str) -> String {
    format!("ALLOC#{reference}#{member}")
}

fn sync_request_pk(id: &str) -> String {
    format!("SYNCREQ#{id}")
}

fn sources_list(r: &ResourceKey) -> ListQuery {
    let p = format!("{}#SOURCES", resource_pk(r));
    ListQuery::partition("list_external_sources", GSI1, p, true)
}

fn allocations_list(r: &ResourceKey, reference: &str) -> ListQuery {
    let p = format!("{}#ALLOC#{reference}", resource_pk(r));
    ListQuery::partition("list_allocations", GSI1, p, true)
}

fn requests_list(r: &ResourceKey) -> ListQuery {
    let p = format!("{}#REQUESTS", resource_pk(r));
    ListQuery::partition("list_sync_requests", GSI1, p, false)
}

fn source_item(op: &str, src: &ExternalSource) -> Result<Item, PortError> {
    let r = ResourceKey::of(src);
    Ok(Item::from([
        (PK.to_string(), s(resource_pk(&r))),
        (SK.to_string(), s(source_sk(&src.reference))),
        (
            GSI1.partition_key.to_string(),
            s(format!("{}#SOURCES", resource_pk(&r))),
        ),
        (GSI1.sort_key.to_string(), s(src.reference.clone())),
        (BODY.to_string(), body(op, src)?),
    ]))
}

fn allocation_item(
    op: &str,
    r: &ResourceKey,
    reference: &str,
    member: &str,
) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(resource_pk(r))),
        (SK.to_string(), s(allocation_sk(reference, member))),
        (
            GSI1.partition_key.to_string(),
            s(format!("{}#ALLOC#{reference}", resource_pk(r))),
        ),
        (GSI1.sort_key.to_string(), s(member)),
        (BODY.to_string(), body(op, &member)?),
    ]))
}

fn sync_request_item(op: &str, req: &SyncRequest) -> Result<Item, PortError> {
    let r = ResourceKey {
        owner: req.owner.clone(),
        resource_id: req.resource_id.clone(),
    };
    Ok(Item::from([
        (PK.to_string(), s(sync_request_pk(&req.id))),
        (SK.to_string(), s(SYNC_REQUEST_SK)),
        (
            GSI1.partition_key.to_string(),
            s(format!("{}#REQUESTS", resource_pk(&r))),
        ),
        (GSI1.sort_key.to_string(), s(req.id.to_string())),
        (STATUS.to_string(), s(req.status.as_str())),
        (BODY.to_string(), body(op, req)?),
    ]))
}

impl DynamoStore {
    /// Deletes every allocation of a source; how many there were.
    async fn delete_allocations(
        &self,
        r: &ResourceKey,
        reference: &str,
    ) -> Result<usize, PortError> {
        const OP: &str = "clear_allocations";
        let members: Vec<String> = self.list_all(&allocations_list(r, reference)).await?;
        let mut removed = 0;
        for m in &members {
            if self
                .delete_item(OP, resource_pk(r), &allocation_sk(reference, m))
                .await?
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[async_trait]
impl SyncStore for DynamoStore {
    async fn insert_external_source(&self, source: &ExternalSource) -> Result<(), PortError> {
        const OP: &str = "insert_external_source";
        match self
            .put_item(OP, source_item(OP, source)?, Must::BeAbsent)
            .await?
        {
            true => Ok(()),
            false => Err(PortError::Conflict(format!(
                "the resource already has the external source '{}'",
                source.reference
            ))),
        }
    }

    async fn list_external_sources(
        &self,
        resource: &ResourceKey,
    ) -> Result<Vec<ExternalSource>, PortError> {
        self.list_all(&sources_list(resource)).await
    }

    async fn delete_external_source(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<(), PortError> {
        const OP: &str = "delete_external_source";
        if !self
            .delete_item(OP, resource_pk(resource), &source_sk(reference))
            .await?
        {
            return Err(PortError::NotFound);
        }
        // The source is gone first: allocations left by a failure here are unreachable
        // (every route checks the source) and go when the reference is cleared again.
        self.delete_allocations(resource, reference)
            .await
            .map(|_| ())
    }

    async fn add_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
        members: &[String],
    ) -> Result<(), PortError> {
        const OP: &str = "add_allocations";
        for m in members {
            let item = allocation_item(OP, resource, reference, m)?;
            self.put_item(OP, item, Must::Anything).await?;
        }
        Ok(())
    }

    async fn remove_allocation(
        &self,
        resource: &ResourceKey,
        reference: &str,
        member: &str,
    ) -> Result<(), PortError> {
        let sk = allocation_sk(reference, member);
        match self
            .delete_item("remove_allocation", resource_pk(resource), &sk)
            .await?
        {
            true => Ok(()),
            false => Err(PortError::NotFound),
        }
    }

    async fn clear_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<usize, PortError> {
        self.delete_allocations(resource, reference).await
    }

    async fn list_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<Vec<String>, PortError> {
        self.list_all(&allocations_list(resource, reference)).await
    }

    async fn insert_sync_request(&self, request: &SyncRequest) -> Result<(), PortError> {
        const OP: &str = "insert_sync_request";
        match self
            .put_item(OP, sync_request_item(OP, request)?, Must::BeAbsent)
            .await?
        {
            true => Ok(()),
            false => Err(PortError::Conflict(format!(
                "sync request {} exists",
                request.id
            ))),
        }
    }

    async fn get_sync_request(&self, id: &SyncRequestId) -> Result<Option<SyncRequest>, PortError> {
        const OP: &str = "get_sync_request";
        let item = self
            .get_item(OP, sync_request_pk(id), SYNC_REQUEST_SK)
            .await?;
        item.map(|i| from_body(OP, &i)).transpose()
    }

    async fn end_sync_request(&self, ended: &SyncRequest) -> Result<SyncEnd, PortError> {
        const OP: &str = "end_sync_request";
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(sync_request_item(OP, ended)?))
            .condition_expression("attribute_exists(#pk) AND #status = :requested")
            .set_expression_attribute_names(Some(names(&[PK, STATUS])))
            .expression_attribute_values(":requested", s(SyncStatus::Requested.as_str()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(SyncEnd::Ended),
            // The SDK retries a put whose answer was lost: the retry of a put that landed
            // fails its condition on the put's own item, which is then this call's ending.
            Err(e) if conditional_check_failed(&e) => {
                match self.get_sync_request(&ended.id).await? {
                    Some(stored) if stored == *ended => Ok(SyncEnd::Ended),
                    Some(_) => Ok(SyncEnd::AlreadyEnded),
                    None => Err(PortError::NotFound),
                }
            }
            Err(e) => Err(backend(OP, e)),
        }
    }

    async fn list_sync_requests(
        &self,
        resource: &ResourceKey,
        limit: usize,
    ) -> Result<Vec<SyncRequest>, PortError> {
        let page = self
            .list_page(&requests_list(resource), None, limit)
            .await?;
        Ok(page.items)
    }
}
