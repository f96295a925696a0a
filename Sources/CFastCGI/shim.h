#include <fcgiapp.h>
/* The FastCGI edge multiplexes libfcgi's connections on epoll (not in Swift's Glibc module). */
#include <sys/epoll.h>
