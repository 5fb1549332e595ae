#!/bin/sh
echo "{{ not templated }}"
