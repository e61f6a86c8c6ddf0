#!/bin/bash
# Runner self-test (inside UML): a scenario that fails with status 3.
echo "failing on purpose" >&2
exit 3
