//! Page/page_size validation and the page arithmetic every list shares.
use super::{DomainError, DomainResult};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;
const MAX_PAGE: u64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub page_size: u64,
}

impl Paging {
    /// page ≥ 1, 1 ≤ page_size ≤ 100; a 422 naming the parameter otherwise.
    pub fn new(page: Option<i64>, page_size: Option<i64>) -> DomainResult<Paging> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE as i64);
        if !(1..=MAX_PAGE as i64).contains(&page) {
            return Err(DomainError::invalid("page", format!("must be between 1 and {MAX_PAGE}, got {page}")));
        }
        if !(1..=MAX_PAGE_SIZE as i64).contains(&page_size) {
            return Err(DomainError::invalid(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"),
            ));
        }
        Ok(Paging { page: page as u64, page_size: page_size as u64 })
    }

    pub fn offset(self) -> u64 {
        (self.page - 1) * self.page_size
    }

    pub fn total_pages(self, total: u64) -> u64 {
        total.div_ceil(self.page_size)
    }
}
