#include <graphviz/gvc.h>
#include <graphviz/cgraph.h>
/* Swift 6 rejects reading mutable C globals; expose the graph descriptor through a function. */
static inline Agdesc_t sg_agdirected(void) { return Agdirected; }
