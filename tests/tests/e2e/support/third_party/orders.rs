//! The tool's orders: a marketplace feed read by cursor (`seq`), and a shop whose orders are
//! searched by reference, created, and have their status changed.

use serde_json::{Value, json};

/// Orders in the order they were created; `seq` grows by one per order.
pub struct Orders {
    list: Vec<Value>,
    page: usize,
}

impl Orders {
    /// No orders; the feed answers at most `page` at a time.
    pub fn new(page: usize) -> Orders {
        Orders {
            list: Vec::new(),
            page,
        }
    }

    /// A new order `{"id", "seq", "ref", "status"}`.
    pub fn add(&mut self, reference: &str, status: &str) -> Value {
        let seq = self.list.len() + 1;
        let order =
            json!({"id": format!("ord_{seq}"), "seq": seq, "ref": reference, "status": status});
        self.list.push(order.clone());
        order
    }

    /// Every order.
    pub fn all(&self) -> Vec<Value> {
        self.list.clone()
    }

    /// The next page of orders whose `seq` is at least `since` (all, from the first, without
    /// it; a cursor that is not a number reads as none). The cursor's own order comes again,
    /// as a tool whose cursor is a timestamp lists the last second again: the poller must tell
    /// the repeat by its id.
    pub fn feed(&self, since: Option<&String>) -> Vec<Value> {
        let since: u64 = since.and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        self.list
            .iter()
            .filter(|o| o["seq"].as_u64().unwrap_or(0) >= since)
            .take(self.page)
            .cloned()
            .collect()
    }

    /// The orders whose reference is `reference`.
    pub fn search(&self, reference: &str) -> Vec<Value> {
        self.list
            .iter()
            .filter(|o| o["ref"] == reference)
            .cloned()
            .collect()
    }

    /// Sets an order's status; the order after the change, `None` if there is no such order.
    pub fn set_status(&mut self, id: &str, status: &Value) -> Option<Value> {
        let order = self.list.iter_mut().find(|o| o["id"] == id)?;
        order["status"] = status.clone();
        Some(order.clone())
    }
}
