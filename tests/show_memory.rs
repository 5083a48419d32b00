//! `show` reserves room for a document's units, not for a constant
//! 100,001 per segment: its memory grows with the document. Counted with
//! an allocator of its own, so this test has a binary of its own.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use nutgraf::Searcher;

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size.saturating_sub(layout.size()), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn show_allocates_for_the_document_not_a_constant() {
    let searcher = Searcher::open(common::seed_index(), false).unwrap();
    // The first call reads the facet catalog once for the generation.
    let shown = searcher.show("besa-engage-azerbaijan#4", 2).unwrap();
    assert_eq!(shown.units.len(), 5);
    let before = ALLOCATED.load(Ordering::Relaxed);
    let shown = searcher.show("besa-engage-azerbaijan#4", 2).unwrap();
    let allocated = ALLOCATED.load(Ordering::Relaxed) - before;
    assert_eq!(shown.units.len(), 5);
    // The document's ~40 units with their text take some tens of KB; a
    // heap of 100,001 ranked slots alone took 1.6 MB per segment.
    assert!(allocated < 512 * 1024, "show allocated {allocated} bytes");
}
