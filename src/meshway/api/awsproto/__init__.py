"""api/awsproto"""
