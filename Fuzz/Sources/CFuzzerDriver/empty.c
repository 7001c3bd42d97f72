/* header-only: the symbol comes from libFuzzer */
