/*
 * unit.c - fixtures shared by the cmocka unit tests.
 */
#include "cpa.h"
#include "unit.h"

int
unit_arena_setup(void **state)
{
	*state = cpa_arena_new();
	return 0;
}

int
unit_arena_teardown(void **state)
{
	cpa_arena_free(*state);
	return 0;
}
