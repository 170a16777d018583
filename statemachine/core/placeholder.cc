// The interpreter core is being written; this file keeps the target non-empty.
namespace stepflow::sm {}
