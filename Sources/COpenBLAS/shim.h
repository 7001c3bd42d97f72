// Debian's libopenblas-dev: the CBLAS interface (sgemm, dgemm) and openblas_set_num_threads.
#include <cblas.h>
