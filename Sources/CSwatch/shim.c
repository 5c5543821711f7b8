#define _GNU_SOURCE
#include "CSwatch.h"
