#!/bin/sh
echo "booted $NAME"
