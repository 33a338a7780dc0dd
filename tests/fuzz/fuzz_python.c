/* libFuzzer target: script_parse_python() on arbitrary bytes (script_check.h). */
#include <stddef.h>
#include <stdint.h>

#include "script_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_script_reader(script_parse_python, data, size);
}
