/* main.c - owns: nothing but handing argv to the app. */
#include "app/app.h"

int main(int argc, char **argv)
{
    return sc_app_main(argc, argv);
}
