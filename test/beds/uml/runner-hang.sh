#!/bin/bash
# Runner self-test (inside UML): never ends on its own (the guest or host timeout must stop it).
echo "hanging"
sleep 1000
