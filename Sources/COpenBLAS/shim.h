// Debian's libopenblas-dev: the CBLAS declarations (enums, blasint). No `link`: the library is
// opened at first use (BLASLibrary.swift), after OPENBLAS_CORETYPE is chosen, because OpenBLAS
// picks its kernels once, when it loads.
#include <cblas.h>
