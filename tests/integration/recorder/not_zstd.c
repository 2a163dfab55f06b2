/* A library that is not libzstd: dependencies.sh puts it first on the library path under
 * libzstd's name, to see the recorder turn itself off cleanly when libzstd cannot be used. */
int not_zstd = 1;
