#ifndef SYMGRAPH_CKERNELS_H
#define SYMGRAPH_CKERNELS_H
/* Hot elementwise kernels, compiled for several CPU levels with runtime dispatch
   (target_clones), so the package needs no machine-specific build flags. */
#include <stddef.h>
/** Returns the name of the CPU level the dispatcher chose (for reports). */
const char *sg_kernels_cpu_level(void);
#endif
