#include <cblas.h>
/* OpenBLAS thread control (declared in OpenBLAS's cblas.h; repeated for safety). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
