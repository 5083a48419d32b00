//! How two paragraphs are told to be copies: their words normalised (case,
//! punctuation and spacing do not count), taken in overlapping runs of
//! [`RUN`] words (shingles), and the runs summed up in a small MinHash
//! sketch whose bands find near copies without comparing every pair.
//!
//! The sketch is a one-permutation MinHash (each run hashed once, into
//! one of [`SLOTS`] slots keeping its least value; an empty slot borrows
//! a full one's), cut into [`BANDS`] bands of [`ROWS`] slots.
//! Two paragraphs whose runs overlap by a Jaccard share `j` agree on a
//! band with chance `j³`; copy clusters ask for two bands of ten, which
//! happens for 99 % of pairs at `j = 0.8`, 67 % at 0.6, 36 % at 0.5,
//! 3 % at 0.3 and almost never below.
//!
//! Written here rather than taken from a crate: the sketch must be cheap
//! enough to compute for every paragraph of an import (a hash per run,
//! no allocation per word), and the crates offering MinHash hash every
//! run once per slot.

/// Words in a run: a copy keeps runs of three words in order.
pub const RUN: usize = 3;
/// Fewest words a paragraph needs to join a copy cluster: shorter ones
/// (datelines, "Advertisement", "He declined to comment.", one-line
/// quotes) repeat by chance.
pub const MIN_WORDS: usize = 12;
/// Slots of the sketch.
pub const SLOTS: usize = BANDS * ROWS;
/// Bands of the sketch, and slots per band.
pub const BANDS: usize = 10;
pub const ROWS: usize = 3;

/// A paragraph's words, each as a 64-bit hash of its normalised form
/// (lower case, letters and digits only): what copies are compared on.
pub fn word_hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(text.len() / 5);
    let mut h = FNV_OFFSET;
    let mut in_word = false;
    let mut lower = [0u8; 4];
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                h = fnv(h, c.to_ascii_lowercase() as u8);
            } else {
                for l in c.to_lowercase() {
                    for &b in l.encode_utf8(&mut lower).as_bytes() {
                        h = fnv(h, b);
                    }
                }
            }
            in_word = true;
        } else if in_word {
            out.push(mix(h));
            h = FNV_OFFSET;
            in_word = false;
        }
    }
    if in_word {
        out.push(mix(h));
    }
    out
}

/// The runs of [`RUN`] words, hashed, in order: the run starting at each
/// word (a text shorter than a run is one run).
pub fn run_hashes(words: &[u64]) -> Vec<u64> {
    if words.len() < RUN {
        vec![run_hash(words)]
    } else {
        words.windows(RUN).map(run_hash).collect()
    }
}

/// The runs of [`RUN`] words, hashed, sorted and each once.
pub fn runs(words: &[u64]) -> Vec<u64> {
    let mut runs = run_hashes(words);
    runs.sort_unstable();
    runs.dedup();
    runs
}

/// Share of runs two texts have in common, of all runs either has
/// (both sorted, as [`runs`] gives them).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let common = shared_runs(a, b);
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// How many runs two texts have in common (both sorted, as [`runs`]
/// gives them).
pub fn shared_runs(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

/// A text's sketch: its band keys (two texts sharing keys share bands)
/// and a byte of each slot (two texts agree on a share of them close to
/// the share of runs they have in common: [`Sketch::likeness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sketch {
    pub keys: [u32; BANDS],
    pub marks: [u8; SLOTS],
}

impl Sketch {
    /// The share of runs two texts have in common, estimated from their
    /// sketches (one slot in 256 agrees by chance, which is taken out).
    pub fn likeness(&self, other: &Sketch) -> f64 {
        let agree = self
            .marks
            .iter()
            .zip(&other.marks)
            .filter(|(a, b)| a == b)
            .count() as f64
            / SLOTS as f64;
        ((agree - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)).max(0.0)
    }
}

/// The band keys of a text's sketch (`None` for a text under
/// [`MIN_WORDS`] words): two texts sharing keys share bands.
pub fn band_keys(words: &[u64]) -> Option<[u32; BANDS]> {
    sketch(words).map(|s| s.keys)
}

/// A text's sketch (`None` for a text under [`MIN_WORDS`] words).
pub fn sketch(words: &[u64]) -> Option<Sketch> {
    if words.len() < MIN_WORDS {
        return None;
    }
    let mut slots = [u64::MAX; SLOTS];
    for run in words.windows(RUN).map(run_hash) {
        // The high bits pick the slot, the rest (mixed again) compete in it.
        let slot = ((u128::from(run) * SLOTS as u128) >> 64) as usize;
        let value = mix(run ^ 0x9e37_79b9_7f4a_7c15);
        if value < slots[slot] {
            slots[slot] = value;
        }
    }
    // An empty slot borrows the value of a full one picked by a hash of
    // its position (a fixed sequence of tries, the same for every text),
    // so two texts fill it alike as often as they agree on the donor.
    // Borrowing from the next full slot instead made one shared run fill a
    // row of empty slots alike in two short paragraphs, and unrelated
    // paragraphs shared bands (optimal densification, Shrivastava 2017).
    let mut filled = slots;
    for (i, slot) in filled.iter_mut().enumerate() {
        let mut attempt = 0u64;
        while *slot == u64::MAX {
            let j = (mix((i as u64) << 32 | attempt) % SLOTS as u64) as usize;
            if slots[j] != u64::MAX {
                *slot = slots[j];
            }
            attempt += 1;
        }
    }
    let mut keys = [0u32; BANDS];
    // A band's slots lie apart (band, band + BANDS, ...), not side by side.
    for (band, key) in keys.iter_mut().enumerate() {
        let mut h = mix(band as u64 + 1);
        for row in 0..ROWS {
            h = mix(h ^ filled[band + row * BANDS]);
        }
        *key = (h >> 32) as u32;
    }
    let mut marks = [0u8; SLOTS];
    for (mark, value) in marks.iter_mut().zip(filled) {
        *mark = (value >> 56) as u8;
    }
    Some(Sketch { keys, marks })
}

/// A hasher for keys that are numbers already (band keys, cluster
/// numbers): one multiplication, where the standard library's SipHash
/// cost a folding search a tenth of its time.
#[derive(Default)]
pub struct NumberHasher(u64);

impl std::hash::Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        // Spread over the high bits too (hashbrown reads them).
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(h: u64, byte: u8) -> u64 {
    (h ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
}

/// A strong 64-bit mix (SplitMix64's finaliser): FNV alone leaves the
/// high bits, which pick a slot, poorly spread.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn run_hash(run: &[u64]) -> u64 {
    run.iter()
        .fold(0x2545_f491_4f6c_dd1d, |h, &w| mix(h.rotate_left(21) ^ w))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = "The Senate voted on Tuesday to extend the program for another two years, sending the bill to the president, who is expected to sign it this week.";

    #[test]
    fn case_punctuation_and_spacing_do_not_count() {
        let a = word_hashes("The  Senate, on Tuesday—passed it.");
        let b = word_hashes("the senate ON tuesday passed   it");
        assert_eq!(a, b);
        assert_eq!(a.len(), 6);
        assert_eq!(word_hashes("Élan"), word_hashes("éLAN"));
        assert_ne!(word_hashes("elan"), word_hashes("élan"));
    }

    #[test]
    fn jaccard_counts_shared_runs() {
        let a = runs(&word_hashes("one two three four"));
        let b = runs(&word_hashes("one two three five"));
        assert_eq!(a.len(), 2);
        assert!((jaccard(&a, &b) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(jaccard(&a, &a), 1.0);
    }

    #[test]
    fn copies_share_bands_and_strangers_do_not() {
        let keys = |t: &str| band_keys(&word_hashes(t)).unwrap();
        let shared =
            |a: [u32; BANDS], b: [u32; BANDS]| a.iter().zip(&b).filter(|(x, y)| x == y).count();
        let original = keys(WIRE);
        assert_eq!(shared(original, keys(&WIRE.to_uppercase())), BANDS);
        let edited = WIRE.replace("this week", "on Friday");
        assert!(shared(original, keys(&edited)) >= 2);
        let other = keys("A storm knocked out power to thousands of homes across the region overnight, and crews expected repairs to take several days.");
        assert!(shared(original, other) < 2);
        assert!(band_keys(&word_hashes("He declined to comment on the matter.")).is_none());
        // Two short paragraphs sharing one run ("plan to get") are not
        // copies (they shared bands when empty slots borrowed from their
        // next neighbour).
        let a = keys("Congressional scholar Norm Ornstein, for one, thinks Boehner has a Machiavellian plan to get there.");
        let b = keys("Possibly the biggest difference between the two is where they plan to get the money to increase school funding.");
        assert!(shared(a, b) < 2);
    }

    #[test]
    fn likeness_estimates_the_share_of_runs() {
        let s = |t: &str| sketch(&word_hashes(t)).unwrap();
        let original = s(WIRE);
        assert_eq!(original.likeness(&original), 1.0);
        let edited = s(&WIRE.replace("this week", "on Friday"));
        let truth = jaccard(
            &runs(&word_hashes(WIRE)),
            &runs(&word_hashes(&WIRE.replace("this week", "on Friday"))),
        );
        assert!((original.likeness(&edited) - truth).abs() < 0.25, "{truth}");
        let other = s("Image copyright Reuters Image caption John McCain will be buried next to an old friend, in the grounds of the US Naval Academy");
        let caption = s("Image copyright Reuters Image caption Protesters demanded the closure of the US embassy");
        assert!(other.likeness(&caption) < 0.35);
    }
}
