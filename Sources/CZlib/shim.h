// zlib (Debian's zlib1g-dev; part of every Apple SDK), for Token Status Lists' DEFLATE with zlib framing.
#include <zlib.h>
