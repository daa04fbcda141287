//! Backup and restore of the store's table on moto, as the runbook in `infra/README.md`
//! describes it: an on-demand backup, restored into a new table (DynamoDB never restores over
//! an existing one), gives a table the store reads as it was when the backup was taken —
//! items and indexes alike.

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::BackupStatus;
use hookline_aws::DynamoStore;
use hookline_aws::provision::table::create_table;
use hookline_domain::subscription::new_subscription;
use hookline_domain::{Client, ClientId, Scope, StatePattern, SubscriptionId, secret};
use hookline_ports::{ClientStore, SubscriptionStore};
use support::moto::{Moto, unique};
use time::OffsetDateTime;

#[tokio::test]
async fn a_backup_restored_into_a_new_table_gives_back_a_deleted_subscription() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = unique("hookline-backup");
    create_table(&client, &table)
        .await
        .expect("create_table on moto");
    let store = DynamoStore::new(client.clone(), table.clone());
    let now = OffsetDateTime::now_utc();
    let owner = Client {
        id: ClientId::new(1),
        name: "AP state portal".into(),
        scopes: vec![Scope::SubscriptionsWrite],
        states: vec![StatePattern::from_stored("AP")],
        secret_hash: secret::hash_client_secret("a-client-secret-for-the-backup"),
        created_at: now,
        disabled: false,
        limits: Default::default(),
    };
    store.insert_client(&owner).await.expect("insert_client");
    let sub = new_subscription(
        SubscriptionId::new(1),
        owner.id.clone(),
        "whsec_backedupsecret".to_string(),
        now,
    );
    store
        .insert_subscription(&sub)
        .await
        .expect("insert_subscription");

    let backup = client
        .create_backup()
        .table_name(&table)
        .backup_name("hookline-before-delete")
        .send()
        .await
        .expect("create_backup on moto");
    let details = backup.backup_details().expect("backup details");
    let arn = details.backup_arn().to_string();
    // AWS reports CREATING first; the restore needs AVAILABLE.
    let mut status = details.backup_status().clone();
    while status != BackupStatus::Available {
        assert_eq!(status, BackupStatus::Creating, "the backup failed");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let described = client
            .describe_backup()
            .backup_arn(&arn)
            .send()
            .await
            .expect("describe_backup");
        status = described
            .backup_description()
            .and_then(|d| d.backup_details())
            .map(|d| d.backup_status().clone())
            .expect("a backup status");
    }
    store
        .delete_subscription(&sub.id)
        .await
        .expect("delete_subscription");
    assert_eq!(store.get_subscription(&sub.id).await.expect("read"), None);

    let restored = unique("hookline-restored");
    client
        .restore_table_from_backup()
        .target_table_name(&restored)
        .backup_arn(&arn)
        .send()
        .await
        .expect("restore_table_from_backup on moto");
    client
        .wait_until_table_exists()
        .table_name(&restored)
        .wait(Duration::from_secs(60))
        .await
        .expect("the restored table becomes active");

    let back = DynamoStore::new(client, restored);
    assert_eq!(
        back.get_subscription(&sub.id)
            .await
            .expect("get_subscription"),
        Some(sub.clone())
    );
    assert_eq!(
        back.get_client(&owner.id).await.expect("get_client"),
        Some(owner.clone())
    );
    // A query on an index: the restored table has the GSIs too.
    let listed = back
        .list_subscriptions(Some(&owner.id), None, 10)
        .await
        .expect("list_subscriptions");
    assert_eq!(listed.items, vec![sub.clone()]);
    assert!(
        back.subscriptions_generation().await.expect("generation") > 0,
        "the subscription generation item came back too"
    );
    assert_eq!(
        store.get_subscription(&sub.id).await.expect("read"),
        None,
        "the source table is left as it was"
    );
}
