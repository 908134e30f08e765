/* app.c - owns: the daemon's lifecycle (placeholder while modules land). */
#include "app/app.h"

int sc_app_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
