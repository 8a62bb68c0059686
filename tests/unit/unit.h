/*
 * unit.h - fixtures shared by the cmocka unit tests (tests/unit/unit.c).
 */
#ifndef CPA_UNIT_H
#define CPA_UNIT_H

/* A fresh request arena in *state before each test, freed after it. */
int unit_arena_setup(void **state);
int unit_arena_teardown(void **state);

#endif
