//! A lossless YAML syntax layer: a spanned tree over saphyr-parser events, byte edits, and
//! verification of edited text against declared value changes. It knows nothing of Compose.

pub mod edit;
pub mod errors;
pub mod ops;
pub mod render;
pub mod text;
pub mod tree;
pub mod value;

pub use edit::{apply_fixes, Applicability, Applied, Edit, Fix, Rejected};
pub use ops::{NewNode, Quote};
pub use tree::{Entry, Limits, Node, NodeId, NodeKind, ParseError, ScalarStyle, Yaml};
pub use value::{Change, Path, Seg, Value};
