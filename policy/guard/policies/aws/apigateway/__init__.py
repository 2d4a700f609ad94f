"""Policies for aws/apigateway."""
